// libvirt errors as bento's JS sees them. libvirt keeps the last error per thread, so every call that
// fails copies it (LastError) on the thread that made the call, before anything else can reset it;
// the copy then travels to the JS thread and becomes an Error named 'LibvirtError' there.
#pragma once

#include <napi.h>

#include <string>

namespace bento::lv {

// A copied virError, or one of bento's own (BENTO_CLOSED): plain data, safe to move across threads.
struct ErrorInfo {
  int code = 0;    // virErrorNumber; -1 for bento's own errors
  int domain = 0;  // virErrorDomain
  int level = 0;   // virErrorLevel
  std::string message;
  std::string codeName;  // empty: derived from code
};

// Thrown inside a job's thread body when a libvirt call fails; carries the copied error.
struct Failure {
  ErrorInfo info;
};

// Copies this thread's last libvirt error. When libvirt set none (some drivers fail silently), the
// message says which call failed so the error is never empty.
ErrorInfo LastError(const char* call);

// LastError(call) thrown as a Failure.
[[noreturn]] void Fail(const char* call);

// 'VIR_ERR_NO_DOMAIN' for 42, ... ; 'VIR_ERR_<n>' for numbers the table does not know.
std::string CodeName(int code);

// The Error JS receives: name 'LibvirtError', message, code, domain, level, codeName.
Napi::Error ToJsError(Napi::Env env, const ErrorInfo& info);

// The error for any call on a connection that is closed (by close() or by libvirt).
ErrorInfo ClosedError(const std::string& what);

// Throws ClosedError as a JS exception (synchronously, from a method called on the JS thread).
[[noreturn]] void ThrowClosed(Napi::Env env, const std::string& what);

}  // namespace bento::lv
