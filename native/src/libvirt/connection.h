// LibvirtConnection: one virConnectPtr, its domain event and close callbacks, and the methods of the
// LibvirtConnection interface in src/vm/drivers/libvirt/binding.ts.
//
// The state is split by thread. ConnShared is what libvirt's event thread and the job threads touch
// (plain data, atomics, the Channel); ConnJs is touched only on the JS thread (listeners, the close
// promise, console streams) and is the context of the connection's ThreadSafeFunction.
#pragma once

#include <libvirt/libvirt.h>
#include <napi.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "runtime.h"

namespace bento::lv {

struct ConsoleJs;
struct ConnJs;

// What the event thread tells the JS thread about a connection.
struct ConnMessage {
  enum class Kind { kDomainEvent, kClosed, kReplayClosed };
  Kind kind = Kind::kDomainEvent;
  std::string uuid;
  std::string name;
  long long id = -1;
  int event = 0;
  int detail = 0;
  int reason = 0;  // kClosed: virConnectCloseReason
};

void ConnCallJs(Napi::Env env, Napi::Function, std::shared_ptr<ConnJs>* context, ConnMessage* message);
using ConnTsfn = Napi::TypedThreadSafeFunction<std::shared_ptr<ConnJs>, ConnMessage, ConnCallJs>;

struct ConnShared {
  explicit ConnShared(std::string u) : uri(std::move(u)) {}
  ~ConnShared();
  ConnShared(const ConnShared&) = delete;
  ConnShared& operator=(const ConnShared&) = delete;

  // "libvirt connection to URI", as errors name it.
  std::string Describe() const { return "libvirt connection to " + uri; }

  const std::string uri;
  uintptr_t id = 0;  // in the connection registry; libvirt callbacks get it as their opaque pointer
  // The reference open() took. Written by the open job before the promise resolves and taken by the
  // close job; in between only read on the JS thread (to take a reference for each call).
  virConnectPtr conn = nullptr;
  int eventCallbackId = -1;             // virConnectDomainEventRegisterAny's id, -1 if none
  bool closeCallbackRegistered = false;
  // Set on the event thread by the close callback, so a call racing with it fails as BENTO_CLOSED.
  std::atomic<bool> lost{false};
  Channel<ConnTsfn, ConnMessage> channel;
};

struct ConnJs {
  std::shared_ptr<ConnShared> shared;
  Napi::FunctionReference onDomainEvent;
  Napi::FunctionReference onClosed;
  bool userClosed = false;  // close() was called
  bool closeDone = false;   // ... and finished
  std::vector<Napi::Promise::Deferred> closeWaiters;
  int lostReason = -1;  // virConnectCloseReason once libvirt reported the connection closed
  bool lostDelivered = false;
  std::vector<std::weak_ptr<ConsoleJs>> consoles;

  bool Closed() const { return userClosed || shared->lost.load(); }
};

class Connection : public Napi::ObjectWrap<Connection> {
 public:
  static Napi::Function Define(Napi::Env env);
  // open(uri, opts?) -> Promise<LibvirtConnection>
  static Napi::Value Open(const Napi::CallbackInfo& info);
  // Made only by open() (its first argument is an External holding the state).
  explicit Connection(const Napi::CallbackInfo& info);

 private:
  Napi::Value Uri(const Napi::CallbackInfo& info);
  Napi::Value IsClosed(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value OnClosed(const Napi::CallbackInfo& info);
  Napi::Value OnDomainEvent(const Napi::CallbackInfo& info);
  Napi::Value Hostname(const Napi::CallbackInfo& info);
  Napi::Value Capabilities(const Napi::CallbackInfo& info);
  Napi::Value ListDomains(const Napi::CallbackInfo& info);
  Napi::Value Lookup(const Napi::CallbackInfo& info);
  Napi::Value LookupByName(const Napi::CallbackInfo& info);
  Napi::Value DefineXML(const Napi::CallbackInfo& info);
  Napi::Value Undefine(const Napi::CallbackInfo& info);
  Napi::Value Create(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);
  Napi::Value Destroy(const Napi::CallbackInfo& info);
  Napi::Value Suspend(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value Reboot(const Napi::CallbackInfo& info);
  Napi::Value Reset(const Napi::CallbackInfo& info);
  Napi::Value XmlDesc(const Napi::CallbackInfo& info);
  Napi::Value OpenConsole(const Napi::CallbackInfo& info);

  // Throws BENTO_CLOSED when closed; else a new reference to the connection for one call (the job
  // drops it when done, so close() while a call runs never frees the connection under it).
  virConnectPtr Acquire(Napi::Env env);
  // A domain operation by UUID: lookup, then `op`, which returns < 0 on failure.
  Napi::Value DomainOp(const Napi::CallbackInfo& info, const char* sig, const char* call, int (*op)(virDomainPtr));

  std::shared_ptr<ConnJs> js_;
};

}  // namespace bento::lv
