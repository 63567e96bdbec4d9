// See args.h.
#include "args.h"

#include <cmath>
#include <limits>

#include "../checks.h"

namespace bento::lv {
namespace {

constexpr const char* kType = "ERR_INVALID_ARG_TYPE";
constexpr const char* kValue = "ERR_INVALID_ARG_VALUE";

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool IsPlainObject(const Napi::Value& v) {
  return v.IsObject() && !v.IsArray() && !v.IsFunction() && !v.IsBuffer() && !v.IsTypedArray();
}

}  // namespace

std::string UuidArg(const Napi::CallbackInfo& info, size_t index, const char* sig) {
  Napi::Env env = info.Env();
  const Napi::Value v = info[index];
  const char* rule = "uuid must be a string of 36 characters (8-4-4-4-12 hex digits)";
  if (!v.IsString()) ThrowArgError(env, sig, kType, std::string(rule) + ", got " + Describe(v));
  std::string s = v.As<Napi::String>().Utf8Value();
  bool ok = s.size() == 36;
  for (size_t i = 0; ok && i < s.size(); i++) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash ? s[i] == '-' : IsHex(s[i]);
  }
  if (!ok) ThrowArgError(env, sig, kValue, std::string(rule) + ", got '" + s.substr(0, 60) + "'");
  return s;
}

std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* sig, const char* name) {
  Napi::Env env = info.Env();
  const Napi::Value v = info[index];
  const std::string n = name;
  if (!v.IsString()) ThrowArgError(env, sig, kType, n + " must be a non-empty string, got " + Describe(v));
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty()) ThrowArgError(env, sig, kValue, n + " must be a non-empty string, got ''");
  if (s.find('\0') != std::string::npos) ThrowArgError(env, sig, kValue, n + " must not contain NUL characters");
  return s;
}

unsigned int FlagsArg(const Napi::CallbackInfo& info, size_t index, const char* sig) {
  if (info[index].IsUndefined()) return 0;
  return static_cast<unsigned int>(IntArgument(info, index, sig, "flags", 0, std::numeric_limits<unsigned int>::max()));
}

Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t index, const char* sig, const char* name) {
  const Napi::Value v = info[index];
  if (!v.IsFunction()) ThrowArgError(info.Env(), sig, kType, std::string(name) + " must be a function, got " + Describe(v));
  return v.As<Napi::Function>();
}

std::optional<Napi::Object> OptionsArg(const Napi::CallbackInfo& info, size_t index, const char* sig, const char* name,
                                       bool required) {
  const Napi::Value v = info[index];
  if (v.IsUndefined() && !required) return std::nullopt;
  if (!IsPlainObject(v)) {
    ThrowArgError(info.Env(), sig, kType, std::string(name) + " must be an object" + (required ? "" : " when given") + ", got " + Describe(v));
  }
  return v.As<Napi::Object>();
}

std::optional<long> IntField(Napi::Object opts, const char* sig, const char* field, long min, long max, const std::string& rule) {
  Napi::Env env = opts.Env();
  const Napi::Value v = opts.Get(field);
  if (v.IsUndefined()) return std::nullopt;
  const std::string n = std::string("opts.") + field;
  if (!v.IsNumber()) ThrowArgError(env, sig, kType, n + " must be " + rule + ", got " + Describe(v));
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::trunc(d) != d || d < static_cast<double>(min) || d > static_cast<double>(max)) {
    ThrowArgError(env, sig, kValue, n + " must be " + rule + ", got " + v.ToString().Utf8Value());
  }
  return static_cast<long>(d);
}

std::optional<bool> BoolField(Napi::Object opts, const char* sig, const char* field) {
  const Napi::Value v = opts.Get(field);
  if (v.IsUndefined()) return std::nullopt;
  if (!v.IsBoolean()) {
    ThrowArgError(opts.Env(), sig, kType, std::string("opts.") + field + " must be a boolean, got " + Describe(v));
  }
  return v.As<Napi::Boolean>().Value();
}

std::optional<std::string> StringOrNullField(Napi::Object opts, const char* sig, const char* field) {
  Napi::Env env = opts.Env();
  const Napi::Value v = opts.Get(field);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  const std::string n = std::string("opts.") + field;
  if (!v.IsString()) ThrowArgError(env, sig, kType, n + " must be a non-empty string or null, got " + Describe(v));
  std::string s = v.As<Napi::String>().Utf8Value();
  if (s.empty() || s.find('\0') != std::string::npos) {
    ThrowArgError(env, sig, kValue, n + " must be a non-empty string without NUL characters, or null");
  }
  return s;
}

Napi::Function FunctionField(Napi::Object opts, const char* sig, const char* field) {
  const Napi::Value v = opts.Get(field);
  if (!v.IsFunction()) {
    ThrowArgError(opts.Env(), sig, kType, std::string("opts.") + field + " must be a function, got " + Describe(v));
  }
  return v.As<Napi::Function>();
}

}  // namespace bento::lv
