// flock(fd, op): LOCK_SH, LOCK_EX or LOCK_UN, optionally | LOCK_NB. Returns true when done, false
// when LOCK_NB was given and another open file description holds a conflicting lock (EWOULDBLOCK is
// the expected answer there, not an error); every other failure throws with the errno name as `code`.
// flock is in Linux, macOS and the BSDs (<sys/file.h>); Windows gets ENOSYS.
#include "flock.h"

#include <cerrno>
#include <climits>
#include <string>

#include "checks.h"

#if !defined(_WIN32)
#include <sys/file.h>
#endif

namespace bento {
namespace {

constexpr const char* kSig = "flock(fd, op)";

#if defined(_WIN32)

Napi::Value Flock(const Napi::CallbackInfo& info) {
  ThrowSystemError(info.Env(), ENOSYS, "flock", "flock is not available on Windows");
}

#else

Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArgument(info, 0, kSig);
  const int op = static_cast<int>(IntArgument(info, 1, kSig, "op", 0, INT_MAX));
  const int kind = op & ~LOCK_NB;
  if (kind != LOCK_SH && kind != LOCK_EX && kind != LOCK_UN) {
    ThrowArgError(env, kSig, "ERR_INVALID_ARG_VALUE",
                  "op must be LOCK_SH, LOCK_EX or LOCK_UN, optionally | LOCK_NB, got " + std::to_string(op));
  }
  int rc;
  // A blocking lock waits in the kernel; a signal handled meanwhile interrupts it, so wait again.
  do rc = flock(fd, op);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return Napi::Boolean::New(env, true);
  const int err = errno;
  if ((op & LOCK_NB) && (err == EWOULDBLOCK || err == EAGAIN)) return Napi::Boolean::New(env, false);
  const std::string name = "fd " + std::to_string(fd);
  if (err == EBADF) ThrowSystemError(env, err, "flock", name + " is not an open file descriptor");
  ThrowSystemError(env, err, "flock", "cannot lock " + name);
}

#endif

}  // namespace

void InitFlock(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock, "flock"));
#if !defined(_WIN32)
  Napi::Object c = Napi::Object::New(env);
  c.Set("LOCK_SH", Napi::Number::New(env, LOCK_SH));
  c.Set("LOCK_EX", Napi::Number::New(env, LOCK_EX));
  c.Set("LOCK_UN", Napi::Number::New(env, LOCK_UN));
  c.Set("LOCK_NB", Napi::Number::New(env, LOCK_NB));
  exports.Set("flockConstants", c);
#endif
}

}  // namespace bento
