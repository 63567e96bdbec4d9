// ConsoleStream: a domain's console over a non-blocking virStream.
//
// Every stream operation after the open (virStreamRecv, virStreamSend, changing the requested events,
// removing the callback, virStreamAbort/Finish, virStreamFree) runs on libvirt's event thread, as in
// virsh's own console: reads and writes never block the JS thread, and the stream is freed only on
// the thread that could otherwise still be using it. JS's write() only queues bytes and wakes the
// event thread (a zero timeout); close() schedules the teardown there the same way.
#pragma once

#include <libvirt/libvirt.h>
#include <napi.h>

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "runtime.h"

namespace bento::lv {

struct ConsoleJs;

struct ConsoleMessage {
  enum class Kind { kData, kEnd, kDrain };
  Kind kind = Kind::kData;
  std::string bytes;                // kData
  std::optional<ErrorInfo> error;   // kEnd: null end (EOF) when empty
};

void ConsoleCallJs(Napi::Env env, Napi::Function, std::shared_ptr<ConsoleJs>* context, ConsoleMessage* message);
using ConsoleTsfn = Napi::TypedThreadSafeFunction<std::shared_ptr<ConsoleJs>, ConsoleMessage, ConsoleCallJs>;

// Bytes queued for the guest above which write() returns false; onDrain fires once the queue is
// back at or below it.
constexpr size_t kConsoleHighWater = 64 * 1024;

struct ConsoleShared {
  ConsoleShared() = default;
  ~ConsoleShared();
  ConsoleShared(const ConsoleShared&) = delete;
  ConsoleShared& operator=(const ConsoleShared&) = delete;

  uintptr_t id = 0;   // in the console registry: the stream callback's opaque pointer
  std::string what;   // "console of domain UUID", for errors

  std::mutex mutex;
  // Guarded by mutex. Set by the opening job, cleared (then freed) by Teardown on the event thread.
  virStreamPtr stream = nullptr;
  std::deque<std::string> queue;  // bytes for the guest; only the event thread pops
  size_t offset = 0;              // sent bytes of queue.front()
  size_t queued = 0;              // unsent bytes in queue
  bool flushScheduled = false;    // a zero timeout will run Flush on the event thread
  bool writable = false;          // WRITABLE is among the stream's requested events (event thread only)
  bool wantDrain = false;         // write() returned false; onDrain is owed
  bool teardownScheduled = false;
  // Set under mutex by close(); read without it by the stream callback, which then does nothing.
  std::atomic<bool> closing{false};

  Channel<ConsoleTsfn, ConsoleMessage> channel;
};

// JS-thread side; the context of the stream's ThreadSafeFunction.
struct ConsoleJs {
  std::shared_ptr<ConsoleShared> shared;
  Napi::FunctionReference onData;
  Napi::FunctionReference onEnd;
  Napi::FunctionReference onDrain;
  bool closed = false;  // close() was called (directly or by the connection's close())
  bool ended = false;   // onEnd was delivered
};

class ConsoleStream : public Napi::ObjectWrap<ConsoleStream> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ConsoleStream(const Napi::CallbackInfo& info);

 private:
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value OnDrain(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsClosed(const Napi::CallbackInfo& info);

  std::shared_ptr<ConsoleJs> js_;
};

// Starts opening the console of domain `uuid` on `conn` (a reference the job takes over) and returns
// the promise of a ConsoleStream; `out` receives the stream's JS-side state at once, so the
// connection can close it even before the promise settles.
Napi::Value StartConsole(Napi::Env env, virConnectPtr conn, const std::string& uuid, const std::optional<std::string>& device,
                         bool force, Napi::Function onData, Napi::Function onEnd, std::shared_ptr<ConsoleJs>* out);

// close() of a stream (JS thread; idempotent): nothing more is delivered, the teardown is scheduled.
void CloseConsole(ConsoleJs& js);

}  // namespace bento::lv
