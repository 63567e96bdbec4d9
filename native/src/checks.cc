// See checks.h.
#include "checks.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>

namespace bento {

const char* ErrnoName(int err) {
  switch (err) {
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOTCONN: return "ENOTCONN";
    case EINVAL: return "EINVAL";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ENOBUFS: return "ENOBUFS";
    case ENOMEM: return "ENOMEM";
    case EFAULT: return "EFAULT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    case ENOTTY: return "ENOTTY";
    case EIO: return "EIO";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
#if defined(EWOULDBLOCK) && EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK: return "EWOULDBLOCK";
#endif
    case ENOLCK: return "ENOLCK";
    case ENOENT: return "ENOENT";
    case ELOOP: return "ELOOP";
    default: return "UNKNOWN";
  }
}

void ThrowSystemError(Napi::Env env, int err, const char* syscall, const std::string& what) {
  const std::string code = ErrnoName(err);
  Napi::Error error = Napi::Error::New(env, what + " (" + code + ": " + std::strerror(err) + ")");
  error.Set("code", Napi::String::New(env, code));
  // Negative, as in Node's own system errors (libuv reports -errno), so callers can treat both alike.
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  throw error;
}

void ThrowArgError(Napi::Env env, const char* signature, const char* code, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, std::string(signature) + ": " + message);
  error.Set("code", Napi::String::New(env, code));
  throw error;
}

std::string Describe(const Napi::Value& value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsString()) return "a string";
  if (value.IsBoolean()) return "a boolean";
  if (value.IsNumber()) return "a number";
  if (value.IsBigInt()) return "a bigint";
  if (value.IsSymbol()) return "a symbol";
  if (value.IsFunction()) return "a function";
  return "an object";
}

long IntArgument(const Napi::CallbackInfo& info, size_t index, const char* signature, const char* name, long min, long max) {
  Napi::Env env = info.Env();
  const Napi::Value arg = info[index];
  const std::string n = name;
  if (!arg.IsNumber()) ThrowArgError(env, signature, "ERR_INVALID_ARG_TYPE", n + " must be a number, got " + Describe(arg));
  const double value = arg.As<Napi::Number>().DoubleValue();
  const std::string shown = arg.ToString().Utf8Value();
  if (!std::isfinite(value) || std::trunc(value) != value) {
    ThrowArgError(env, signature, "ERR_INVALID_ARG_VALUE", n + " must be an integer, got " + shown);
  }
  if (value < static_cast<double>(min)) {
    ThrowArgError(env, signature, "ERR_INVALID_ARG_VALUE", n + " must be >= " + std::to_string(min) + ", got " + shown);
  }
  if (value > static_cast<double>(max)) ThrowArgError(env, signature, "ERR_INVALID_ARG_VALUE", n + " is out of range, got " + shown);
  return static_cast<long>(value);
}

int FdArgument(const Napi::CallbackInfo& info, size_t index, const char* signature) {
  return static_cast<int>(IntArgument(info, index, signature, "fd", 0, INT_MAX));
}

}  // namespace bento
