// See console.h.
#include "console.h"

#include <libvirt/virterror.h>

#include <algorithm>
#include <array>

#include "../checks.h"
#include "args.h"
#include "domain.h"
#include "errors.h"

namespace bento::lv {
namespace {

Registry<ConsoleShared>& Consoles() {
  // Never destroyed: libvirt's event thread may still look something up while the process exits.
  static auto* registry = new Registry<ConsoleShared>();
  return *registry;
}

constexpr int kReadEvents = VIR_STREAM_EVENT_READABLE | VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP;
// At most this many reads per callback, so one chatty console cannot starve the other event
// sources; libvirt calls again while data is waiting.
constexpr int kReadsPerEvent = 16;
constexpr size_t kReadSize = 64 * 1024;
constexpr size_t kMaxSend = 64 * 1024;

void PostEnd(ConsoleShared& s, std::optional<ErrorInfo> error) {
  auto m = std::make_unique<ConsoleMessage>();
  m->kind = ConsoleMessage::Kind::kEnd;
  m->error = std::move(error);
  s.channel.Post(std::move(m));
}

// Event thread (or, if no timer could be added, the caller's). Idempotent.
void Teardown(ConsoleShared& s, bool graceful) {
  virStreamPtr st;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    st = s.stream;
    s.stream = nullptr;
    s.queue.clear();
    s.queued = 0;
    s.offset = 0;
  }
  if (st != nullptr) {
    // As virsh's console does: Finish after the server's end of stream, Abort otherwise. Their
    // failures change nothing: the stream is freed either way.
    virStreamEventRemoveCallback(st);
    if (graceful) virStreamFinish(st);
    else virStreamAbort(st);
    virStreamFree(st);  // also drops the stream's reference on the connection
  }
  // After the last post (an End, if any): the ThreadSafeFunction stops keeping Node alive.
  s.channel.Close();
}

void TeardownTimer(int timer, void* opaque) {
  virEventRemoveTimeout(timer);
  Teardown(**static_cast<std::shared_ptr<ConsoleShared>*>(opaque), false);
}

void FreeHolder(void* opaque) {
  delete static_cast<std::shared_ptr<ConsoleShared>*>(opaque);
}

void ScheduleTeardown(const std::shared_ptr<ConsoleShared>& s) {
  // The holder keeps the state alive until the timer is gone; libvirt's event loop frees it.
  auto* holder = new std::shared_ptr<ConsoleShared>(s);
  if (virEventAddTimeout(0, TeardownTimer, holder, FreeHolder) < 0) {
    delete holder;
    Teardown(*s, false);
  }
}

// Event thread: sends queued bytes until the queue is empty or the stream would block (then asks for
// WRITABLE, and comes back here when it fires). Returns false when the stream failed (and was torn
// down). Only this thread changes the stream's requested events, so `writable` needs no lock.
bool Flush(ConsoleShared& s, virStreamPtr st) {
  for (;;) {
    const char* data = nullptr;
    size_t len = 0;
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      if (!s.queue.empty()) {
        // Only this thread pops, and deque::push_back keeps references valid: the bytes stay put
        // while sent without the lock.
        const std::string& front = s.queue.front();
        data = front.data() + s.offset;
        len = std::min(front.size() - s.offset, kMaxSend);
      }
    }
    if (data == nullptr) {
      if (s.writable) {
        virStreamEventUpdateCallback(st, kReadEvents);
        s.writable = false;
      }
      return true;
    }
    const int n = virStreamSend(st, data, len);
    if (n == -2) {
      if (!s.writable) {
        virStreamEventUpdateCallback(st, kReadEvents | VIR_STREAM_EVENT_WRITABLE);
        s.writable = true;
      }
      return true;
    }
    if (n < 0) {
      PostEnd(s, LastError("virStreamSend"));
      Teardown(s, false);
      return false;
    }
    bool drained = false;
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.offset += static_cast<size_t>(n);
      s.queued -= static_cast<size_t>(n);
      if (s.offset >= s.queue.front().size()) {
        s.queue.pop_front();
        s.offset = 0;
      }
      if (s.wantDrain && s.queued <= kConsoleHighWater) {
        s.wantDrain = false;
        drained = true;
      }
    }
    if (drained) {
      auto m = std::make_unique<ConsoleMessage>();
      m->kind = ConsoleMessage::Kind::kDrain;
      s.channel.Post(std::move(m));
    }
  }
}

// Event thread: write() queued bytes; send them.
void FlushTimer(int timer, void* opaque) {
  virEventRemoveTimeout(timer);
  ConsoleShared& s = **static_cast<std::shared_ptr<ConsoleShared>*>(opaque);
  virStreamPtr st;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.flushScheduled = false;
    st = s.stream;
  }
  if (st != nullptr && !s.closing.load()) Flush(s, st);
}

// Event thread: reads what the guest wrote; on end of stream or an error, reports it and tears down.
void ReadAvailable(ConsoleShared& s, virStreamPtr st, int events) {
  // One event thread: one buffer.
  static std::array<char, kReadSize> buffer;
  int n = -2;
  for (int i = 0; i < kReadsPerEvent; i++) {
    n = virStreamRecv(st, buffer.data(), buffer.size());
    if (n > 0) {
      auto m = std::make_unique<ConsoleMessage>();
      m->kind = ConsoleMessage::Kind::kData;
      m->bytes.assign(buffer.data(), static_cast<size_t>(n));
      s.channel.Post(std::move(m));
      continue;
    }
    break;
  }
  if (n > 0) return;  // more next time
  if (n == 0) {
    PostEnd(s, std::nullopt);  // the server ended the stream (the domain stopped)
    Teardown(s, true);
  } else if (n == -1) {
    PostEnd(s, LastError("virStreamRecv"));
    Teardown(s, false);
  } else if (events & VIR_STREAM_EVENT_ERROR) {
    ErrorInfo e;
    e.code = VIR_ERR_RPC;
    e.level = VIR_ERR_ERROR;
    e.message = "the console stream of " + s.what + " reported an error";
    PostEnd(s, e);
    Teardown(s, false);
  } else if (events & VIR_STREAM_EVENT_HANGUP) {
    PostEnd(s, std::nullopt);
    Teardown(s, false);
  }
}

// libvirt's event thread: the stream can be read, written, or has failed.
void OnStreamEvent(virStreamPtr, int events, void* opaque) {
  std::shared_ptr<ConsoleShared> s = Consoles().Find(opaque);
  if (!s || s->closing.load()) return;  // a teardown is scheduled
  virStreamPtr st;
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    st = s->stream;
  }
  // Only this thread clears `stream`, so it stays valid below without the lock.
  if (st == nullptr) return;
  if ((events & VIR_STREAM_EVENT_WRITABLE) && !Flush(*s, st)) return;
  if (events & kReadEvents) ReadAvailable(*s, st, events);
}

void FinalizeConsoleContext(Napi::Env, void*, std::shared_ptr<ConsoleJs>* context) {
  (*context)->shared->channel.Detach();
  delete context;
}

class OpenConsoleJob : public PromiseJob {
 public:
  OpenConsoleJob(Napi::Env env, virConnectPtr conn, std::shared_ptr<ConsoleJs> js, std::string uuid,
                 std::optional<std::string> device, bool force)
      : PromiseJob(env), conn_(conn), js_(std::move(js)), shared_(js_->shared), uuid_(std::move(uuid)),
        device_(std::move(device)), force_(force) {}

  void Execute() override {
    struct Release {
      virConnectPtr conn;
      ~Release() { virConnectClose(conn); }  // the stream holds its own reference
    } release{conn_};
    DomainRef dom(LookupUuid(conn_, uuid_));
    virStreamPtr st = virStreamNew(conn_, VIR_STREAM_NONBLOCK);
    if (st == nullptr) Fail("virStreamNew");
    // SAFE: refuse drivers whose console cannot detect a second client; FORCE takes the console
    // from whoever holds it (another virsh console, another bentod).
    const unsigned int flags = VIR_DOMAIN_CONSOLE_SAFE | (force_ ? VIR_DOMAIN_CONSOLE_FORCE : 0);
    if (virDomainOpenConsole(dom.get(), device_ ? device_->c_str() : nullptr, st, flags) < 0) {
      ErrorInfo e = LastError("virDomainOpenConsole");
      virStreamFree(st);
      throw Failure{e};
    }
    bool schedule = false;
    {
      std::lock_guard<std::mutex> lock(shared_->mutex);
      if (virStreamEventAddCallback(st, kReadEvents, OnStreamEvent, Registry<ConsoleShared>::Opaque(shared_->id), nullptr) < 0) {
        ErrorInfo e = LastError("virStreamEventAddCallback");
        virStreamAbort(st);
        virStreamFree(st);
        throw Failure{e};
      }
      shared_->stream = st;
      // The connection was closed while this job ran: tear down right away.
      schedule = shared_->closing.load() && !shared_->teardownScheduled;
      if (schedule) shared_->teardownScheduled = true;
    }
    if (schedule) ScheduleTeardown(shared_);
  }

 protected:
  void BeforeSettle(Napi::Env) override {
    if (failed()) shared_->channel.Close();
  }
  Napi::Value Value(Napi::Env env) override {
    auto* data = env.GetInstanceData<AddonData>();
    return data->console.New({Napi::External<std::shared_ptr<ConsoleJs>>::New(env, &js_)});
  }

 private:
  virConnectPtr conn_;
  std::shared_ptr<ConsoleJs> js_;
  std::shared_ptr<ConsoleShared> shared_;
  std::string uuid_;
  std::optional<std::string> device_;
  bool force_;
};

}  // namespace

ConsoleShared::~ConsoleShared() {
  if (id != 0) Consoles().Remove(id);
}

void ConsoleCallJs(Napi::Env env, Napi::Function, std::shared_ptr<ConsoleJs>* context, ConsoleMessage* message) {
  std::unique_ptr<ConsoleMessage> m(message);
  if (env == nullptr || context == nullptr || !*context) return;
  std::shared_ptr<ConsoleJs> js = *context;
  if (js->closed || js->ended) return;
  switch (m->kind) {
    case ConsoleMessage::Kind::kData:
      if (!js->onData.IsEmpty()) js->onData.Call({Napi::Buffer<char>::Copy(env, m->bytes.data(), m->bytes.size())});
      return;
    case ConsoleMessage::Kind::kDrain:
      if (!js->onDrain.IsEmpty()) js->onDrain.Call({});
      return;
    case ConsoleMessage::Kind::kEnd: {
      js->ended = true;
      Napi::Function cb = js->onEnd.Value();
      // Nothing follows the end: let go of the caller's functions.
      js->onData.Reset();
      js->onEnd.Reset();
      js->onDrain.Reset();
      Napi::Value arg = m->error ? ToJsError(env, *m->error).Value() : env.Null();
      cb.Call({arg});
      return;
    }
  }
}

Napi::Value StartConsole(Napi::Env env, virConnectPtr conn, const std::string& uuid, const std::optional<std::string>& device,
                         bool force, Napi::Function onData, Napi::Function onEnd, std::shared_ptr<ConsoleJs>* out) {
  auto shared = std::make_shared<ConsoleShared>();
  shared->id = Consoles().Add(shared);
  shared->what = "console of domain " + uuid;
  auto js = std::make_shared<ConsoleJs>();
  js->shared = shared;
  js->onData = Napi::Persistent(onData);
  js->onEnd = Napi::Persistent(onEnd);
  // Created before the stream opens: output may arrive before the promise settles. Ref'd while the
  // stream is open, as a socket is; released by the teardown.
  ConsoleTsfn tsfn = ConsoleTsfn::New(env, "bento:libvirt-console", 0, 1, new std::shared_ptr<ConsoleJs>(js), FinalizeConsoleContext);
  shared->channel.Attach(tsfn);
  auto job = std::make_unique<OpenConsoleJob>(env, conn, js, uuid, device, force);
  Napi::Promise promise = job->Promise();
  try {
    Job::Start(env, std::move(job));
  } catch (...) {
    virConnectClose(conn);
    shared->channel.Close();
    throw;
  }
  *out = js;
  return promise;
}

void CloseConsole(ConsoleJs& js) {
  if (js.closed) return;
  js.closed = true;
  js.onData.Reset();
  js.onEnd.Reset();
  js.onDrain.Reset();
  std::shared_ptr<ConsoleShared> s = js.shared;
  bool schedule;
  {
    std::lock_guard<std::mutex> lock(s->mutex);
    s->closing.store(true);
    schedule = s->stream != nullptr && !s->teardownScheduled;
    if (schedule) s->teardownScheduled = true;
  }
  // No stream yet: the opening job sees `closing` and schedules it. Already torn down: nothing to do.
  if (schedule) ScheduleTeardown(s);
}

Napi::Function ConsoleStream::Define(Napi::Env env) {
  return DefineClass(env, "LibvirtConsoleStream",
                     {
                         InstanceMethod<&ConsoleStream::Write>("write"),
                         InstanceMethod<&ConsoleStream::OnDrain>("onDrain"),
                         InstanceMethod<&ConsoleStream::Close>("close"),
                         InstanceAccessor<&ConsoleStream::IsClosed>("closed"),
                     });
}

ConsoleStream::ConsoleStream(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConsoleStream>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "LibvirtConsoleStream objects are made by openConsole()");
  }
  js_ = *info[0].As<Napi::External<std::shared_ptr<ConsoleJs>>>().Data();
}

Napi::Value ConsoleStream::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const Napi::Value arg = info[0];
  if (!arg.IsTypedArray() || arg.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowArgError(env, "write(data)", "ERR_INVALID_ARG_TYPE", "data must be a Buffer or Uint8Array, got " + Describe(arg));
  }
  if (js_->closed) ThrowClosed(env, js_->shared->what);
  Napi::Uint8Array bytes = arg.As<Napi::Uint8Array>();
  ConsoleShared& s = *js_->shared;
  std::lock_guard<std::mutex> lock(s.mutex);
  // The stream already ended (onEnd is on its way): like a hung-up terminal, the bytes are dropped.
  if (s.stream == nullptr || s.closing.load()) return Napi::Boolean::New(env, true);
  if (bytes.ByteLength() > 0) {
    s.queue.emplace_back(reinterpret_cast<const char*>(bytes.Data()), bytes.ByteLength());
    s.queued += bytes.ByteLength();
    if (!s.flushScheduled) {
      // The event thread sends them (Flush). Waking it with a zero timeout takes only the event
      // loop's lock; libvirt's stream calls could wait for the connection's lock (held while another
      // stream is aborted, for one), and the JS thread must not.
      auto* holder = new std::shared_ptr<ConsoleShared>(js_->shared);
      if (virEventAddTimeout(0, FlushTimer, holder, FreeHolder) >= 0) {
        s.flushScheduled = true;
      } else {
        delete holder;  // out of memory in libvirt: the bytes go with the next WRITABLE or write()
      }
    }
  }
  const bool ok = s.queued <= kConsoleHighWater;
  if (!ok) s.wantDrain = true;
  return Napi::Boolean::New(env, ok);
}

Napi::Value ConsoleStream::OnDrain(const Napi::CallbackInfo& info) {
  Napi::Function cb = FunctionArg(info, 0, "onDrain(cb)", "cb");
  if (!js_->closed && !js_->ended) js_->onDrain = Napi::Persistent(cb);
  return info.Env().Undefined();
}

Napi::Value ConsoleStream::Close(const Napi::CallbackInfo& info) {
  CloseConsole(*js_);
  return info.Env().Undefined();
}

Napi::Value ConsoleStream::IsClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), js_->closed || js_->ended);
}

}  // namespace bento::lv
