// Plain C++ shared by the vz binding (no Objective-C here, so it also compiles, and is syntax-checked,
// off macOS): error details, the messages the VM's queue sends to the JS thread, and the channel that
// carries them through a ThreadSafeFunction.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace bento::vz {

// What a JS Error from this binding carries. `kind` says who failed: "unsupported" (older macOS),
// "config" (a bad configuration value), "state" (wrong VM state), "vz" (an NSError), "exception" (an
// NSException), "io" (a host call such as pipe()).
struct ErrorInfo {
  std::string kind;
  std::string message;
  std::string domain;  // NSError domain; empty for non-NSError failures
  long long code = 0;
  bool hasCode = false;
  std::string failureReason;  // NSLocalizedFailureReasonErrorKey, when present
  std::string exceptionName;  // NSException name, for kind == "exception"

  static ErrorInfo Simple(const std::string& kind, const std::string& message) {
    ErrorInfo e;
    e.kind = kind;
    e.message = message;
    return e;
  }
};

// A JS Error with the fields of `info` set as properties (domain, nsCode, failureReason, ...).
Napi::Error ToJsError(Napi::Env env, const ErrorInfo& info);

// One thing the VM's queue tells the JS thread: an event for onEvent, or a promise to settle.
struct Message {
  enum class Kind { kEvent, kResolve, kReject };
  Kind kind = Kind::kEvent;
  // kEvent: "state", "guest-did-stop", "did-stop-with-error", "network-disconnected".
  std::string event;
  std::optional<long long> state;  // for "state"
  std::optional<ErrorInfo> error;  // for events that carry an NSError, and for kReject
  // kResolve/kReject: the promise to settle (owned by the message), and an optional resolved value:
  // a number, or a status object.
  Napi::Promise::Deferred* deferred = nullptr;
  std::optional<long long> number;
  struct Status {
    long long state = 0;
    bool canStart = false, canPause = false, canResume = false, canRequestStop = false, canStop = false;
  };
  std::optional<Status> status;

  Message() = default;
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  ~Message() { delete deferred; }
};

// Runs on the JS thread for each Message; env is null when the TSFN is being torn down.
void CallJs(Napi::Env env, Napi::Function onEvent, std::nullptr_t* context, Message* message);

using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Message, CallJs>;

// The one way from the VM's queue (or any thread) to JS. After Close() nothing more is delivered and
// posted messages are freed: completion handlers that fire after dispose() are harmless.
class Channel {
 public:
  explicit Channel(Tsfn tsfn) : tsfn_(tsfn) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  void Post(std::unique_ptr<Message> message);
  void PostEvent(const std::string& event);
  void PostState(long long state);
  void PostEventError(const std::string& event, const ErrorInfo& error);
  void Resolve(Napi::Promise::Deferred* deferred);
  void ResolveNumber(Napi::Promise::Deferred* deferred, long long value);
  void ResolveStatus(Napi::Promise::Deferred* deferred, const Message::Status& status);
  void Reject(Napi::Promise::Deferred* deferred, const ErrorInfo& error);
  // Releases the ThreadSafeFunction (once); the event loop may then exit.
  void Close();
  bool IsOpen();

 private:
  std::mutex mutex_;
  bool open_ = true;
  Tsfn tsfn_;
};

// One JS promise, settled at most once from whichever thread gets there first (a completion handler,
// or the @catch around the call that should have scheduled it). An unsettled promise is freed with it.
class Settle {
 public:
  Settle(std::shared_ptr<Channel> channel, Napi::Promise::Deferred* deferred) : channel_(std::move(channel)), deferred_(deferred) {}
  Settle(const Settle&) = delete;
  Settle& operator=(const Settle&) = delete;
  ~Settle() { delete deferred_.exchange(nullptr); }

  void Resolve() {
    if (auto* d = deferred_.exchange(nullptr)) channel_->Resolve(d);
  }
  void ResolveStatus(const Message::Status& status) {
    if (auto* d = deferred_.exchange(nullptr)) channel_->ResolveStatus(d, status);
  }
  void Reject(const ErrorInfo& error) {
    if (auto* d = deferred_.exchange(nullptr)) channel_->Reject(d, error);
  }

 private:
  std::shared_ptr<Channel> channel_;
  std::atomic<Napi::Promise::Deferred*> deferred_;
};

}  // namespace bento::vz
