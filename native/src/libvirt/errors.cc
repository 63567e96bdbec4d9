// See errors.h.
#include "errors.h"

#include <libvirt/virterror.h>

namespace bento::lv {
namespace {

// virErrorNumber names by value, from libvirt 9.0's virterror.h. Kept as strings rather than enum
// constants so the addon still builds against an older libvirt whose header lacks the newer names;
// a code past the end is shown as VIR_ERR_<n>.
const char* const kCodeNames[] = {
#include "codenames.inc"
};

constexpr size_t kCodeCount = sizeof(kCodeNames) / sizeof(kCodeNames[0]);

}  // namespace

ErrorInfo LastError(const char* call) {
  ErrorInfo info;
  virErrorPtr err = virGetLastError();
  if (err != nullptr && err->code != VIR_ERR_OK) {
    info.code = err->code;
    info.domain = err->domain;
    info.level = err->level;
    info.message = err->message != nullptr ? err->message : "";
  }
  if (info.message.empty()) {
    if (info.code == VIR_ERR_OK) info.code = VIR_ERR_INTERNAL_ERROR;
    info.level = VIR_ERR_ERROR;
    info.message = std::string(call) + " failed and libvirt gave no reason";
  }
  return info;
}

void Fail(const char* call) {
  throw Failure{LastError(call)};
}

std::string CodeName(int code) {
  if (code >= 0 && static_cast<size_t>(code) < kCodeCount) return kCodeNames[code];
  return "VIR_ERR_" + std::to_string(code);
}

Napi::Error ToJsError(Napi::Env env, const ErrorInfo& info) {
  Napi::Error error = Napi::Error::New(env, info.message);
  error.Set("name", Napi::String::New(env, "LibvirtError"));
  error.Set("code", Napi::Number::New(env, info.code));
  error.Set("domain", Napi::Number::New(env, info.domain));
  error.Set("level", Napi::Number::New(env, info.level));
  error.Set("codeName", Napi::String::New(env, info.codeName.empty() ? CodeName(info.code) : info.codeName));
  return error;
}

ErrorInfo ClosedError(const std::string& what) {
  ErrorInfo info;
  info.code = -1;
  info.level = VIR_ERR_ERROR;
  info.codeName = "BENTO_CLOSED";
  info.message = what + " is closed";
  return info;
}

void ThrowClosed(Napi::Env env, const std::string& what) {
  throw ToJsError(env, ClosedError(what));
}

}  // namespace bento::lv
