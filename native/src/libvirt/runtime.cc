// See runtime.h.
#include "runtime.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <chrono>
#include <system_error>
#include <thread>

namespace bento::lv {
namespace {

void RunEventLoop() {
  for (;;) {
    // Returns after each iteration; -1 only when the loop itself failed (poll() error). Loop on, but
    // not in a tight spin should that repeat.
    if (virEventRunDefaultImpl() < 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

bool EnsureEventLoop(ErrorInfo* error) {
  static std::once_flag once;
  // Heap-allocated and never freed: the detached loop thread outlives static destructors at exit.
  static ErrorInfo* failure = nullptr;
  std::call_once(once, [] {
    if (virInitialize() < 0) {
      failure = new ErrorInfo(LastError("virInitialize"));
      return;
    }
    // Must come before the first connection is opened: the remote driver picks the event
    // implementation (for keepalive and events) when it connects.
    if (virEventRegisterDefaultImpl() < 0) {
      failure = new ErrorInfo(LastError("virEventRegisterDefaultImpl"));
      return;
    }
    try {
      // Detached: it runs until the process exits. It holds no libuv handle, so it never keeps
      // Node alive by itself.
      std::thread(RunEventLoop).detach();
    } catch (const std::system_error& e) {
      failure = new ErrorInfo();
      failure->code = VIR_ERR_INTERNAL_ERROR;
      failure->level = VIR_ERR_ERROR;
      failure->message = std::string("cannot start libvirt's event loop thread: ") + e.what();
    }
  });
  if (failure != nullptr) {
    if (error != nullptr) *error = *failure;
    return false;
  }
  return true;
}

void Job::Start(Napi::Env env, std::unique_ptr<Job> job) {
  // No JS function: Settle calls into C++ only. One thread holds the TSFN until the job is done.
  job->tsfn_ = Tsfn::New(env, "bento:libvirt", 0, 1, nullptr);
  Job* raw = job.get();
  try {
    std::thread([raw] { raw->Run(); }).detach();
  } catch (const std::system_error& e) {
    raw->tsfn_.Release();
    throw Napi::Error::New(env, std::string("cannot start a thread for a libvirt call: ") + e.what());
  }
  job.release();  // owned by its thread until Settle
}

void Job::Run() {
  // Start from a clean slate: libvirt's last error is per thread, but this thread is new anyway.
  virResetLastError();
  try {
    Execute();
  } catch (const Failure& failure) {
    failed_ = true;
    error_ = failure.info;
  } catch (const std::exception& e) {
    failed_ = true;
    error_.code = VIR_ERR_INTERNAL_ERROR;
    error_.level = VIR_ERR_ERROR;
    error_.message = std::string("libvirt call failed: ") + e.what();
  }
  Tsfn tsfn = tsfn_;
  // napi_closing means the Node environment is being torn down: nobody is left to settle for. The
  // job is then leaked, not deleted here: its members may hold JS references, which must only be
  // released on the JS thread.
  tsfn.NonBlockingCall(this);
  tsfn.Release();
}

void Job::Settle(Napi::Env env, Napi::Function, std::nullptr_t*, Job* job) {
  std::unique_ptr<Job> owned(job);
  if (env == nullptr) return;
  job->Finish(env);
}

void PromiseJob::Finish(Napi::Env env) {
  Napi::HandleScope scope(env);
  BeforeSettle(env);
  if (failed()) {
    deferred_.Reject(ToJsError(env, error()).Value());
    return;
  }
  try {
    deferred_.Resolve(Value(env));
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
  }
}

}  // namespace bento::lv
