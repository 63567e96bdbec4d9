#include "vz_common.h"

namespace bento::vz {

Napi::Error ToJsError(Napi::Env env, const ErrorInfo& info) {
  std::string message = info.message.empty() ? "unknown Virtualization.framework error" : info.message;
  Napi::Error error = Napi::Error::New(env, message);
  Napi::Object obj = error.Value();
  obj.Set("kind", Napi::String::New(env, info.kind.empty() ? "vz" : info.kind));
  if (!info.domain.empty()) obj.Set("domain", Napi::String::New(env, info.domain));
  if (info.hasCode) obj.Set("nsCode", Napi::Number::New(env, static_cast<double>(info.code)));
  if (!info.failureReason.empty()) obj.Set("failureReason", Napi::String::New(env, info.failureReason));
  if (!info.exceptionName.empty()) obj.Set("exceptionName", Napi::String::New(env, info.exceptionName));
  return error;
}

namespace {

Napi::Object ErrorObject(Napi::Env env, const ErrorInfo& info) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("message", Napi::String::New(env, info.message));
  o.Set("kind", Napi::String::New(env, info.kind.empty() ? "vz" : info.kind));
  if (!info.domain.empty()) o.Set("domain", Napi::String::New(env, info.domain));
  if (info.hasCode) o.Set("nsCode", Napi::Number::New(env, static_cast<double>(info.code)));
  if (!info.failureReason.empty()) o.Set("failureReason", Napi::String::New(env, info.failureReason));
  return o;
}

}  // namespace

void CallJs(Napi::Env env, Napi::Function onEvent, std::nullptr_t* /*context*/, Message* raw) {
  // Owned here whatever happens; its destructor frees the deferred too.
  std::unique_ptr<Message> message(raw);
  if (env == nullptr || message == nullptr) return;  // teardown: nothing to call, just free
  Napi::HandleScope scope(env);
  switch (message->kind) {
    case Message::Kind::kEvent: {
      Napi::Object ev = Napi::Object::New(env);
      ev.Set("type", Napi::String::New(env, message->event));
      if (message->state) ev.Set("state", Napi::Number::New(env, static_cast<double>(*message->state)));
      if (message->error) ev.Set("error", ErrorObject(env, *message->error));
      // onEvent must not throw; if it does, node-addon-api rethrows it as an uncaught JS exception,
      // which the helper logs.
      if (!onEvent.IsEmpty()) onEvent.Call({ev});
      break;
    }
    case Message::Kind::kResolve: {
      if (message->deferred == nullptr) break;
      if (message->status) {
        const Message::Status& s = *message->status;
        Napi::Object o = Napi::Object::New(env);
        o.Set("state", Napi::Number::New(env, static_cast<double>(s.state)));
        o.Set("canStart", Napi::Boolean::New(env, s.canStart));
        o.Set("canPause", Napi::Boolean::New(env, s.canPause));
        o.Set("canResume", Napi::Boolean::New(env, s.canResume));
        o.Set("canRequestStop", Napi::Boolean::New(env, s.canRequestStop));
        o.Set("canStop", Napi::Boolean::New(env, s.canStop));
        message->deferred->Resolve(o);
      } else if (message->number) {
        message->deferred->Resolve(Napi::Number::New(env, static_cast<double>(*message->number)));
      } else {
        message->deferred->Resolve(env.Undefined());
      }
      break;
    }
    case Message::Kind::kReject: {
      if (message->deferred == nullptr) break;
      ErrorInfo info = message->error ? *message->error : ErrorInfo::Simple("vz", "operation failed");
      message->deferred->Reject(ToJsError(env, info).Value());
      break;
    }
  }
}

void Channel::Post(std::unique_ptr<Message> message) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return;  // unique_ptr frees it
  Message* raw = message.release();
  // Queue size 0 (unlimited): NonBlockingCall never reports napi_queue_full; anything else means the
  // function is closing, and the message is ours to free.
  if (tsfn_.NonBlockingCall(raw) != napi_ok) delete raw;
}

void Channel::PostEvent(const std::string& event) {
  auto m = std::make_unique<Message>();
  m->kind = Message::Kind::kEvent;
  m->event = event;
  Post(std::move(m));
}

void Channel::PostState(long long state) {
  auto m = std::make_unique<Message>();
  m->kind = Message::Kind::kEvent;
  m->event = "state";
  m->state = state;
  Post(std::move(m));
}

void Channel::PostEventError(const std::string& event, const ErrorInfo& error) {
  auto m = std::make_unique<Message>();
  m->kind = Message::Kind::kEvent;
  m->event = event;
  m->error = error;
  Post(std::move(m));
}

void Channel::Resolve(Napi::Promise::Deferred* deferred) {
  auto m = std::make_unique<Message>();
  m->kind = Message::Kind::kResolve;
  m->deferred = deferred;
  Post(std::move(m));
}

void Channel::ResolveNumber(Napi::Promise::Deferred* deferred, long long value) {
  auto m = std::make_unique<Message>();
  m->kind = Message::Kind::kResolve;
  m->deferred = deferred;
  m->number = value;
  Post(std::move(m));
}

void Channel::ResolveStatus(Napi::Promise::Deferred* deferred, const Message::Status& status) {
  auto m = std::make_unique<Message>();
  m->kind = Message::Kind::kResolve;
  m->deferred = deferred;
  m->status = status;
  Post(std::move(m));
}

void Channel::Reject(Napi::Promise::Deferred* deferred, const ErrorInfo& error) {
  auto m = std::make_unique<Message>();
  m->kind = Message::Kind::kReject;
  m->deferred = deferred;
  m->error = error;
  Post(std::move(m));
}

void Channel::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!open_) return;
  open_ = false;
  tsfn_.Release();
}

bool Channel::IsOpen() {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_;
}

}  // namespace bento::vz
