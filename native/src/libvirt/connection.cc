// See connection.h.
#include "connection.h"

#include <libvirt/virterror.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <optional>
#include <variant>

#include "args.h"
#include "console.h"
#include "domain.h"
#include "errors.h"

namespace bento::lv {
namespace {

Registry<ConnShared>& Connections() {
  // Never destroyed: libvirt's event thread may still look something up while the process exits.
  static auto* registry = new Registry<ConnShared>();
  return *registry;
}

const char* CloseReasonName(int reason) {
  switch (reason) {
    case VIR_CONNECT_CLOSE_REASON_ERROR: return "error";
    case VIR_CONNECT_CLOSE_REASON_EOF: return "eof";
    case VIR_CONNECT_CLOSE_REASON_KEEPALIVE: return "keepalive";
    case VIR_CONNECT_CLOSE_REASON_CLIENT: return "client";
    default: return "error";
  }
}

// libvirt's event thread: a domain changed state. Everything is copied here; dom is only borrowed.
int OnLifecycle(virConnectPtr, virDomainPtr dom, int event, int detail, void* opaque) {
  std::shared_ptr<ConnShared> shared = Connections().Find(opaque);
  if (!shared) return 0;
  auto m = std::make_unique<ConnMessage>();
  m->kind = ConnMessage::Kind::kDomainEvent;
  char uuid[VIR_UUID_STRING_BUFLEN];
  // Local accessors on the domain object libvirt built for the event: no RPC, cannot block.
  if (virDomainGetUUIDString(dom, uuid) == 0) m->uuid = uuid;
  if (const char* name = virDomainGetName(dom)) m->name = name;
  const unsigned int id = virDomainGetID(dom);
  m->id = id == static_cast<unsigned int>(-1) ? -1 : static_cast<long long>(id);
  m->event = event;
  m->detail = detail;
  shared->channel.Post(std::move(m));
  return 0;
}

// libvirt's event thread: the connection is gone (EOF, keepalive timeout, I/O error).
void OnConnectionClosed(virConnectPtr, int reason, void* opaque) {
  std::shared_ptr<ConnShared> shared = Connections().Find(opaque);
  if (!shared) return;
  shared->lost.store(true);
  auto m = std::make_unique<ConnMessage>();
  m->kind = ConnMessage::Kind::kClosed;
  m->reason = reason;
  shared->channel.Post(std::move(m));
}

void FinalizeConnContext(Napi::Env, void*, std::shared_ptr<ConnJs>* context) {
  (*context)->shared->channel.Detach();
  delete context;
}

// open(): virConnectOpenAuth, keepalive, the close callback and the lifecycle event callback.
class OpenJob : public PromiseJob {
 public:
  OpenJob(Napi::Env env, std::shared_ptr<ConnJs> js, unsigned int flags, int interval, unsigned int count)
      : PromiseJob(env), js_(std::move(js)), shared_(js_->shared), flags_(flags), interval_(interval), count_(count) {}

  void Execute() override {
    ErrorInfo loopError;
    if (!EnsureEventLoop(&loopError)) throw Failure{loopError};
    // virConnectAuthPtrDefault: libvirt's own credential handling (SSH agent and keys, TLS
    // certificates, SASL). bento never stores or asks for passwords.
    virConnectPtr conn = virConnectOpenAuth(shared_->uri.c_str(), virConnectAuthPtrDefault, flags_);
    if (conn == nullptr) Fail("virConnectOpenAuth");
    void* opaque = Registry<ConnShared>::Opaque(shared_->id);
    try {
      if (virConnectSetKeepAlive(conn, interval_, count_) < 0) {
        // Local drivers (test:///, qemu:///session through the embedded driver) have no keepalive.
        ErrorInfo e = LastError("virConnectSetKeepAlive");
        if (e.code != VIR_ERR_NO_SUPPORT) throw Failure{e};
      }
      // No free callback: the opaque pointer is a registry number, nothing to free (and drivers
      // without close callbacks would never call it).
      if (virConnectRegisterCloseCallback(conn, OnConnectionClosed, opaque, nullptr) < 0) {
        Fail("virConnectRegisterCloseCallback");
      }
      shared_->closeCallbackRegistered = true;
      // Registered here rather than on the first onDomainEvent(): a refusal then fails open()
      // instead of vanishing, and no event is lost between open() and the listener.
      const int id = virConnectDomainEventRegisterAny(conn, nullptr, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                      VIR_DOMAIN_EVENT_CALLBACK(OnLifecycle), opaque, nullptr);
      if (id < 0) {
        ErrorInfo e = LastError("virConnectDomainEventRegisterAny");
        if (e.code != VIR_ERR_NO_SUPPORT) throw Failure{e};
      }
      shared_->eventCallbackId = id;
    } catch (const Failure&) {
      if (shared_->closeCallbackRegistered) virConnectUnregisterCloseCallback(conn, OnConnectionClosed);
      shared_->closeCallbackRegistered = false;
      virConnectClose(conn);
      throw;
    }
    shared_->conn = conn;
  }

 protected:
  void BeforeSettle(Napi::Env) override {
    if (failed()) shared_->channel.Close();
  }
  Napi::Value Value(Napi::Env env) override {
    auto* data = env.GetInstanceData<AddonData>();
    return data->connection.New({Napi::External<std::shared_ptr<ConnJs>>::New(env, &js_)});
  }

 private:
  std::shared_ptr<ConnJs> js_;
  std::shared_ptr<ConnShared> shared_;
  unsigned int flags_;
  int interval_;
  unsigned int count_;
};

// close(): deregisters the callbacks, releases the ThreadSafeFunction and drops open()'s reference.
class CloseJob : public Job {
 public:
  explicit CloseJob(std::shared_ptr<ConnJs> js) : js_(std::move(js)), shared_(js_->shared) {}

  void Execute() override {
    virConnectPtr conn = shared_->conn;
    shared_->conn = nullptr;
    // Failures are ignored: on a connection that is already lost these calls fail, and the
    // connection is released either way. After deregistration no callback of ours runs again;
    // the Channel drops anything that raced with it.
    if (conn != nullptr) {
      if (shared_->eventCallbackId >= 0) virConnectDomainEventDeregisterAny(conn, shared_->eventCallbackId);
      if (shared_->closeCallbackRegistered) virConnectUnregisterCloseCallback(conn, OnConnectionClosed);
    }
    shared_->channel.Close();
    // Only a release when a call or a console stream still holds a reference; they close it later.
    if (conn != nullptr) virConnectClose(conn);
  }

  void Finish(Napi::Env env) override {
    Napi::HandleScope scope(env);
    js_->closeDone = true;
    std::vector<Napi::Promise::Deferred> waiters = std::move(js_->closeWaiters);
    js_->closeWaiters.clear();
    for (auto& d : waiters) d.Resolve(env.Undefined());
  }

 private:
  std::shared_ptr<ConnJs> js_;
  std::shared_ptr<ConnShared> shared_;
};

Napi::Value ToJs(Napi::Env env, const std::monostate&) { return env.Undefined(); }
Napi::Value ToJs(Napi::Env env, const std::string& s) { return Napi::String::New(env, s); }
Napi::Value ToJs(Napi::Env env, const DomainData& d) { return DomainToJs(env, d); }
Napi::Value ToJs(Napi::Env env, const std::vector<DomainData>& list) {
  Napi::Array a = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) a.Set(static_cast<uint32_t>(i), DomainToJs(env, list[i]));
  return a;
}

// A call on a connection: `body` runs on the job's thread with the job's own connection reference,
// its result resolves the promise.
template <typename R>
class CallJob : public PromiseJob {
 public:
  CallJob(Napi::Env env, virConnectPtr conn, std::function<R(virConnectPtr)> body)
      : PromiseJob(env), conn_(conn), body_(std::move(body)) {}

  void Execute() override {
    // The reference is dropped after the body, also when it throws (the error is copied by then).
    struct Release {
      virConnectPtr conn;
      ~Release() { virConnectClose(conn); }
    } release{conn_};
    result_ = body_(conn_);
  }

 protected:
  Napi::Value Value(Napi::Env env) override { return ToJs(env, result_); }

 private:
  virConnectPtr conn_;
  std::function<R(virConnectPtr)> body_;
  R result_{};
};

template <typename R>
Napi::Value StartCall(Napi::Env env, virConnectPtr conn, std::function<R(virConnectPtr)> body) {
  auto job = std::make_unique<CallJob<R>>(env, conn, std::move(body));
  Napi::Promise promise = job->Promise();
  try {
    Job::Start(env, std::move(job));
  } catch (...) {
    virConnectClose(conn);
    throw;
  }
  return promise;
}

// A string libvirt allocated, freed here.
std::string Take(char* s, const char* call) {
  if (s == nullptr) Fail(call);
  std::string out(s);
  std::free(s);
  return out;
}

}  // namespace

ConnShared::~ConnShared() {
  if (id != 0) Connections().Remove(id);
}

void ConnCallJs(Napi::Env env, Napi::Function, std::shared_ptr<ConnJs>* context, ConnMessage* message) {
  std::unique_ptr<ConnMessage> m(message);
  if (env == nullptr || context == nullptr || !*context) return;
  // A copy: a listener may close the connection, and nothing here may depend on the caller's state.
  std::shared_ptr<ConnJs> js = *context;
  if (js->userClosed) return;
  switch (m->kind) {
    case ConnMessage::Kind::kDomainEvent: {
      if (js->onDomainEvent.IsEmpty()) return;
      Napi::Object ev = Napi::Object::New(env);
      ev.Set("uuid", Napi::String::New(env, m->uuid));
      ev.Set("name", Napi::String::New(env, m->name));
      ev.Set("id", Napi::Number::New(env, static_cast<double>(m->id)));
      ev.Set("event", Napi::Number::New(env, m->event));
      ev.Set("detail", Napi::Number::New(env, m->detail));
      js->onDomainEvent.Call({ev});
      return;
    }
    case ConnMessage::Kind::kClosed:
      if (js->lostReason >= 0) return;
      js->lostReason = m->reason;
      // A connection libvirt closed no longer keeps Node alive; close() releases the rest.
      js->shared->channel.Unref(env);
      [[fallthrough]];
    case ConnMessage::Kind::kReplayClosed: {
      if (js->lostDelivered || js->lostReason < 0 || js->onClosed.IsEmpty()) return;
      js->lostDelivered = true;
      Napi::Function cb = js->onClosed.Value();
      cb.Call({Napi::String::New(env, CloseReasonName(js->lostReason))});
      return;
    }
  }
}

Napi::Function Connection::Define(Napi::Env env) {
  return DefineClass(env, "LibvirtConnection",
                     {
                         InstanceAccessor<&Connection::Uri>("uri"),
                         InstanceAccessor<&Connection::IsClosed>("closed"),
                         InstanceMethod<&Connection::Close>("close"),
                         InstanceMethod<&Connection::OnClosed>("onClosed"),
                         InstanceMethod<&Connection::OnDomainEvent>("onDomainEvent"),
                         InstanceMethod<&Connection::Hostname>("hostname"),
                         InstanceMethod<&Connection::Capabilities>("capabilities"),
                         InstanceMethod<&Connection::ListDomains>("listDomains"),
                         InstanceMethod<&Connection::Lookup>("lookup"),
                         InstanceMethod<&Connection::LookupByName>("lookupByName"),
                         InstanceMethod<&Connection::DefineXML>("defineXML"),
                         InstanceMethod<&Connection::Undefine>("undefine"),
                         InstanceMethod<&Connection::Create>("create"),
                         InstanceMethod<&Connection::Shutdown>("shutdown"),
                         InstanceMethod<&Connection::Destroy>("destroy"),
                         InstanceMethod<&Connection::Suspend>("suspend"),
                         InstanceMethod<&Connection::Resume>("resume"),
                         InstanceMethod<&Connection::Reboot>("reboot"),
                         InstanceMethod<&Connection::Reset>("reset"),
                         InstanceMethod<&Connection::XmlDesc>("xmlDesc"),
                         InstanceMethod<&Connection::OpenConsole>("openConsole"),
                     });
}

Connection::Connection(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Connection>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "LibvirtConnection objects are made by open(uri)");
  }
  js_ = *info[0].As<Napi::External<std::shared_ptr<ConnJs>>>().Data();
}

Napi::Value Connection::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  constexpr const char* kSig = "open(uri, opts)";
  std::string uri = StringArg(info, 0, kSig, "uri", kUriMaxBytes);
  // libvirt's defaults for a client (virsh uses the same): a probe every 5 s, 5 unanswered ones
  // close the connection.
  long interval = 5;
  long count = 5;
  unsigned int flags = 0;
  if (auto opts = OptionsArg(info, 1, kSig, "opts", false)) {
    if (auto v = IntField(*opts, kSig, "keepaliveIntervalS", 0, 3600, "an integer from 0 (keepalive off) to 3600")) interval = *v;
    if (auto v = IntField(*opts, kSig, "keepaliveCount", 0, 1000, "an integer from 0 to 1000")) count = *v;
    if (auto v = BoolField(*opts, kSig, "readOnly"); v && *v) flags |= VIR_CONNECT_RO;
  }

  auto shared = std::make_shared<ConnShared>(uri);
  shared->id = Connections().Add(shared);
  auto js = std::make_shared<ConnJs>();
  js->shared = shared;
  // Created before connecting: callbacks registered by the open job may fire before it returns.
  // Ref'd (the default) while the connection is open, as a socket is; released by close().
  ConnTsfn tsfn = ConnTsfn::New(env, "bento:libvirt-connection", 0, 1, new std::shared_ptr<ConnJs>(js), FinalizeConnContext);
  shared->channel.Attach(tsfn);
  auto job = std::make_unique<OpenJob>(env, js, flags, static_cast<int>(interval), static_cast<unsigned int>(count));
  Napi::Promise promise = job->Promise();
  try {
    Job::Start(env, std::move(job));
  } catch (...) {
    shared->channel.Close();
    throw;
  }
  return promise;
}

virConnectPtr Connection::Acquire(Napi::Env env) {
  if (js_->Closed() || js_->shared->conn == nullptr) ThrowClosed(env, js_->shared->Describe());
  virConnectPtr conn = js_->shared->conn;
  if (virConnectRef(conn) < 0) ThrowClosed(env, js_->shared->Describe());
  return conn;
}

Napi::Value Connection::Uri(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), js_->shared->uri);
}

Napi::Value Connection::IsClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), js_->Closed());
}

Napi::Value Connection::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (js_->closeDone) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  js_->closeWaiters.push_back(deferred);
  if (js_->userClosed) return deferred.Promise();  // a close is under way: settle with it
  js_->userClosed = true;
  // Nothing is delivered after close(): drop the listeners now (they may hold the caller's objects).
  js_->onDomainEvent.Reset();
  js_->onClosed.Reset();
  std::vector<std::weak_ptr<ConsoleJs>> consoles = std::move(js_->consoles);
  js_->consoles.clear();
  for (auto& weak : consoles) {
    if (auto c = weak.lock()) CloseConsole(*c);
  }
  Job::Start(env, std::make_unique<CloseJob>(js_));
  return deferred.Promise();
}

Napi::Value Connection::OnClosed(const Napi::CallbackInfo& info) {
  Napi::Function cb = FunctionArg(info, 0, "onClosed(cb)", "cb");
  // Registering a listener changes nothing remote, so it is accepted on a closed connection too
  // (and never throws BENTO_CLOSED). After close() nothing is delivered.
  if (js_->userClosed) return info.Env().Undefined();
  js_->onClosed = Napi::Persistent(cb);
  if (js_->lostReason >= 0 && !js_->lostDelivered) {
    // libvirt reported the loss before any listener was set: deliver it to this one, asynchronously
    // (through the ThreadSafeFunction), never from inside onClosed().
    auto m = std::make_unique<ConnMessage>();
    m->kind = ConnMessage::Kind::kReplayClosed;
    js_->shared->channel.Post(std::move(m));
  }
  return info.Env().Undefined();
}

Napi::Value Connection::OnDomainEvent(const Napi::CallbackInfo& info) {
  Napi::Function cb = FunctionArg(info, 0, "onDomainEvent(cb)", "cb");
  if (!js_->userClosed) js_->onDomainEvent = Napi::Persistent(cb);
  return info.Env().Undefined();
}

Napi::Value Connection::Hostname(const Napi::CallbackInfo& info) {
  return StartCall<std::string>(info.Env(), Acquire(info.Env()), [](virConnectPtr c) {
    return Take(virConnectGetHostname(c), "virConnectGetHostname");
  });
}

Napi::Value Connection::Capabilities(const Napi::CallbackInfo& info) {
  return StartCall<std::string>(info.Env(), Acquire(info.Env()), [](virConnectPtr c) {
    return Take(virConnectGetCapabilities(c), "virConnectGetCapabilities");
  });
}

Napi::Value Connection::ListDomains(const Napi::CallbackInfo& info) {
  return StartCall<std::vector<DomainData>>(info.Env(), Acquire(info.Env()), [](virConnectPtr c) {
    virDomainPtr* doms = nullptr;
    const int n = virConnectListAllDomains(c, &doms, 0);
    if (n < 0) Fail("virConnectListAllDomains");
    // Owned from here on, freed whatever happens.
    std::vector<std::unique_ptr<DomainRef>> owned;
    for (int i = 0; i < n; i++) owned.push_back(std::make_unique<DomainRef>(doms[i]));
    std::free(doms);
    std::vector<DomainData> list;
    list.reserve(owned.size());
    for (auto& dom : owned) {
      try {
        list.push_back(ReadDomain(dom->get()));
      } catch (const Failure& f) {
        // Undefined (or a transient one stopped) between the listing and the reading: skip it.
        if (f.info.code != VIR_ERR_NO_DOMAIN) throw;
      }
    }
    return list;
  });
}

Napi::Value Connection::Lookup(const Napi::CallbackInfo& info) {
  std::string uuid = UuidArg(info, 0, "lookup(uuid)");
  return StartCall<DomainData>(info.Env(), Acquire(info.Env()), [uuid](virConnectPtr c) {
    DomainRef dom(LookupUuid(c, uuid));
    return ReadDomain(dom.get());
  });
}

Napi::Value Connection::LookupByName(const Napi::CallbackInfo& info) {
  std::string name = StringArg(info, 0, "lookupByName(name)", "name", kNameMaxBytes);
  return StartCall<DomainData>(info.Env(), Acquire(info.Env()), [name](virConnectPtr c) {
    virDomainPtr d = virDomainLookupByName(c, name.c_str());
    if (d == nullptr) Fail("virDomainLookupByName");
    DomainRef dom(d);
    return ReadDomain(dom.get());
  });
}

Napi::Value Connection::DefineXML(const Napi::CallbackInfo& info) {
  std::string xml = StringArg(info, 0, "defineXML(xml)", "xml", kXmlMaxBytes);
  return StartCall<DomainData>(info.Env(), Acquire(info.Env()), [xml](virConnectPtr c) {
    virDomainPtr d = virDomainDefineXML(c, xml.c_str());
    if (d == nullptr) Fail("virDomainDefineXML");
    DomainRef dom(d);
    return ReadDomain(dom.get());
  });
}

Napi::Value Connection::Undefine(const Napi::CallbackInfo& info) {
  constexpr const char* kSig = "undefine(uuid, flags)";
  std::string uuid = UuidArg(info, 0, kSig);
  const unsigned int flags = FlagsArg(info, 1, kSig);
  return StartCall<std::monostate>(info.Env(), Acquire(info.Env()), [uuid, flags](virConnectPtr c) {
    DomainRef dom(LookupUuid(c, uuid));
    if (virDomainUndefineFlags(dom.get(), flags) < 0) Fail("virDomainUndefineFlags");
    return std::monostate{};
  });
}

Napi::Value Connection::DomainOp(const Napi::CallbackInfo& info, const char* sig, const char* call, int (*op)(virDomainPtr)) {
  std::string uuid = UuidArg(info, 0, sig);
  return StartCall<std::monostate>(info.Env(), Acquire(info.Env()), [uuid, call, op](virConnectPtr c) {
    DomainRef dom(LookupUuid(c, uuid));
    if (op(dom.get()) < 0) Fail(call);
    return std::monostate{};
  });
}

Napi::Value Connection::Create(const Napi::CallbackInfo& info) {
  return DomainOp(info, "create(uuid)", "virDomainCreate", virDomainCreate);
}

Napi::Value Connection::Shutdown(const Napi::CallbackInfo& info) {
  return DomainOp(info, "shutdown(uuid)", "virDomainShutdown", virDomainShutdown);
}

Napi::Value Connection::Destroy(const Napi::CallbackInfo& info) {
  return DomainOp(info, "destroy(uuid)", "virDomainDestroy", virDomainDestroy);
}

Napi::Value Connection::Suspend(const Napi::CallbackInfo& info) {
  return DomainOp(info, "suspend(uuid)", "virDomainSuspend", virDomainSuspend);
}

Napi::Value Connection::Resume(const Napi::CallbackInfo& info) {
  return DomainOp(info, "resume(uuid)", "virDomainResume", virDomainResume);
}

Napi::Value Connection::Reboot(const Napi::CallbackInfo& info) {
  return DomainOp(info, "reboot(uuid)", "virDomainReboot", [](virDomainPtr d) { return virDomainReboot(d, 0); });
}

Napi::Value Connection::Reset(const Napi::CallbackInfo& info) {
  return DomainOp(info, "reset(uuid)", "virDomainReset", [](virDomainPtr d) { return virDomainReset(d, 0); });
}

Napi::Value Connection::XmlDesc(const Napi::CallbackInfo& info) {
  constexpr const char* kSig = "xmlDesc(uuid, flags)";
  std::string uuid = UuidArg(info, 0, kSig);
  const unsigned int flags = FlagsArg(info, 1, kSig);
  return StartCall<std::string>(info.Env(), Acquire(info.Env()), [uuid, flags](virConnectPtr c) {
    DomainRef dom(LookupUuid(c, uuid));
    return Take(virDomainGetXMLDesc(dom.get(), flags), "virDomainGetXMLDesc");
  });
}

Napi::Value Connection::OpenConsole(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  constexpr const char* kSig = "openConsole(uuid, opts)";
  std::string uuid = UuidArg(info, 0, kSig);
  Napi::Object opts = *OptionsArg(info, 1, kSig, "opts", true);
  std::optional<std::string> device = StringOrNullField(opts, kSig, "device", kDeviceMaxBytes);
  const bool force = BoolField(opts, kSig, "force").value_or(false);
  Napi::Function onData = FunctionField(opts, kSig, "onData");
  Napi::Function onEnd = FunctionField(opts, kSig, "onEnd");
  virConnectPtr conn = Acquire(env);
  std::shared_ptr<ConsoleJs> console;
  Napi::Value promise = StartConsole(env, conn, uuid, device, force, onData, onEnd, &console);
  // Closed with the connection, including while the open is still under way.
  js_->consoles.erase(std::remove_if(js_->consoles.begin(), js_->consoles.end(), [](auto& w) { return w.expired(); }),
                      js_->consoles.end());
  js_->consoles.push_back(console);
  return promise;
}

}  // namespace bento::lv
