// Argument checks and errno errors shared by every part of bento_native, so each export reports bad
// input the same way: argument problems are TypeErrors with an ERR_INVALID_ARG_* `code`, system
// problems are Errors carrying `code` (errno name), `errno` (negative, as Node's) and `syscall`.
#pragma once

#include <napi.h>

#include <string>

namespace bento {

// errno's symbolic name, spelled the way Node's own system errors spell `code` ("UNKNOWN" otherwise).
const char* ErrnoName(int err);

// Throws an Error for errno `err`: "<what> (<CODE>: <strerror>)".
[[noreturn]] void ThrowSystemError(Napi::Env env, int err, const char* syscall, const std::string& what);

// Throws a TypeError "<signature>: <message>" with `code` set.
[[noreturn]] void ThrowArgError(Napi::Env env, const char* signature, const char* code, const std::string& message);

// How a wrong argument is named in messages: "undefined", "a string", "an object", ...
std::string Describe(const Napi::Value& value);

// info[index] as a file descriptor: a finite integer in [0, INT_MAX], else a TypeError naming
// `signature`. Checked here as well as in the JS wrappers: the raw binding is reachable on its own,
// and a wrong fd must never reach the kernel as a truncated or wrapped-around integer.
int FdArgument(const Napi::CallbackInfo& info, size_t index, const char* signature);

// info[index] as a whole number in [min, max], else a TypeError naming `signature` and `name`.
long IntArgument(const Napi::CallbackInfo& info, size_t index, const char* signature, const char* name, long min, long max);

}  // namespace bento
