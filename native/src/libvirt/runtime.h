// What every part of the libvirt binding shares: libvirt's event loop thread, the registries that
// let libvirt callbacks find bento's objects without owning them, and Job, the way a blocking libvirt
// call runs off the JS thread and settles a promise.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "errors.h"

namespace bento::lv {

// Registers libvirt's default event loop implementation and starts the one thread that runs it
// forever, the first time it is called (later calls return the first outcome). Every libvirt
// callback bento uses (domain events, the connection's close callback, stream events, keepalive)
// runs on that thread. Returns false, with the error in `error`, when libvirt refused.
bool EnsureEventLoop(ErrorInfo* error);

// Objects libvirt callbacks refer to by number: the callback's opaque pointer is the number, not the
// object, so a callback that fires after bento let go of the object finds nothing instead of freed
// memory, and libvirt never has to free anything of ours (not every driver calls free callbacks).
template <typename T>
class Registry {
 public:
  uintptr_t Add(const std::shared_ptr<T>& object) {
    std::lock_guard<std::mutex> lock(mutex_);
    uintptr_t id = next_++;
    objects_[id] = object;
    return id;
  }
  void Remove(uintptr_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    objects_.erase(id);
  }
  std::shared_ptr<T> Find(void* opaque) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = objects_.find(reinterpret_cast<uintptr_t>(opaque));
    return it == objects_.end() ? nullptr : it->second.lock();
  }
  static void* Opaque(uintptr_t id) { return reinterpret_cast<void*>(id); }

 private:
  std::mutex mutex_;
  uintptr_t next_ = 1;
  std::unordered_map<uintptr_t, std::weak_ptr<T>> objects_;
};

// The way from libvirt's threads to JS for one object (a connection, a console stream): a
// ThreadSafeFunction that can be closed once. Posts after Close() are dropped (and freed), so a
// libvirt callback racing with close never touches a released ThreadSafeFunction.
template <typename Tsfn, typename Message>
class Channel {
 public:
  void Attach(Tsfn tsfn) {
    std::lock_guard<std::mutex> lock(mutex_);
    tsfn_ = tsfn;
    open_ = true;
  }
  // Any thread. NonBlockingCall: libvirt's event thread must never wait for JS.
  void Post(std::unique_ptr<Message> message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (open_ && tsfn_.NonBlockingCall(message.get()) == napi_ok) message.release();
  }
  // Any thread; idempotent. Messages already queued are still delivered.
  void Close() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!open_) return;
    open_ = false;
    tsfn_.Release();
  }
  // From the ThreadSafeFunction's finalizer (JS thread): it is going away, also when Node tears the
  // environment down without Close(). Nothing may be posted to it afterwards.
  void Detach() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
  }
  // JS thread only: stop keeping Node alive (a connection libvirt reported closed).
  void Unref(Napi::Env env) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (open_) tsfn_.Unref(env);
  }

 private:
  std::mutex mutex_;
  bool open_ = false;
  Tsfn tsfn_;
};

// One blocking piece of work: Execute runs on a thread of its own, Finish on the JS thread.
//
// Each job gets its own thread rather than a slot in libuv's pool (Napi::AsyncWorker): a libvirt
// call can block for a long time (connecting over SSH to a host that does not answer, an RPC to a
// busy libvirtd), and four such calls would take the whole pool that Node's fs, dns and crypto
// share, stalling bentod. Jobs are few (a connect, a list, a lookup per event), so a thread each
// costs nothing that matters. While a job runs its ThreadSafeFunction keeps Node alive, as a
// pending libuv request would.
class Job {
 public:
  virtual ~Job() = default;
  // Runs on the job's thread. A Failure thrown here (or any std::exception) is kept and reported.
  virtual void Execute() = 0;
  // Runs on the JS thread afterwards; `failed` tells whether Execute threw (error() says what).
  virtual void Finish(Napi::Env env) = 0;

  // Starts `job` on a new thread. Throws a JS Error if no thread could be started.
  static void Start(Napi::Env env, std::unique_ptr<Job> job);

 protected:
  bool failed() const { return failed_; }
  const ErrorInfo& error() const { return error_; }

 private:
  static void Settle(Napi::Env env, Napi::Function, std::nullptr_t*, Job* job);
  void Run();
  using Tsfn = Napi::TypedThreadSafeFunction<std::nullptr_t, Job, Settle>;
  Tsfn tsfn_;
  bool failed_ = false;
  ErrorInfo error_;
};

// A Job that settles a promise: resolved with Value(env), or rejected with the libvirt error.
class PromiseJob : public Job {
 public:
  explicit PromiseJob(Napi::Env env) : deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void Finish(Napi::Env env) override;

 protected:
  // The resolved value; called on the JS thread only when Execute succeeded. Default: undefined.
  virtual Napi::Value Value(Napi::Env env) { return env.Undefined(); }
  // Called on the JS thread before the promise settles, success or not (e.g. to undo on failure).
  virtual void BeforeSettle(Napi::Env) {}

 private:
  Napi::Promise::Deferred deferred_;
};

// Per Node environment (the main thread and each worker thread): the classes' constructors.
struct AddonData {
  Napi::FunctionReference connection;
  Napi::FunctionReference console;
};

}  // namespace bento::lv
