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

// How many characters of a wrong value a message quotes.
constexpr size_t kQuoteChars = 60;

// The UTF-8 length of a JS string, measured without copying it (a huge string is refused unread).
size_t Utf8Length(const Napi::String& s) {
  size_t len = 0;
  if (napi_get_value_string_utf8(s.Env(), s, nullptr, 0, &len) != napi_ok) throw Napi::Error::New(s.Env());
  return len;
}

// The first kQuoteChars characters (code points) of a JS string, in UTF-8.
std::string Quote(const Napi::String& s) {
  std::string buf(kQuoteChars * 4 + 1, '\0');
  size_t written = 0;
  // Writes whole characters only; every character takes at most 4 bytes.
  if (napi_get_value_string_utf8(s.Env(), s, buf.data(), buf.size(), &written) != napi_ok) throw Napi::Error::New(s.Env());
  size_t end = 0;
  for (size_t chars = 0; end < written && chars < kQuoteChars; chars++) {
    end++;
    while (end < written && (static_cast<unsigned char>(buf[end]) & 0xC0) == 0x80) end++;
  }
  return buf.substr(0, end);
}

std::string TooLong(const std::string& name, size_t maxBytes, size_t len) {
  return name + " must be at most " + std::to_string(maxBytes) + " bytes in UTF-8, got " + std::to_string(len);
}

}  // namespace

std::string UuidArg(const Napi::CallbackInfo& info, size_t index, const char* sig) {
  Napi::Env env = info.Env();
  const Napi::Value v = info[index];
  const char* rule = "uuid must be a string of 36 characters (8-4-4-4-12 hex digits)";
  if (!v.IsString()) ThrowArgError(env, sig, kType, std::string(rule) + ", got " + Describe(v));
  const Napi::String str = v.As<Napi::String>();
  bool ok = Utf8Length(str) == 36;
  std::string s = ok ? str.Utf8Value() : Quote(str);
  for (size_t i = 0; ok && i < s.size(); i++) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    ok = dash ? s[i] == '-' : IsHex(s[i]);
  }
  if (!ok) ThrowArgError(env, sig, kValue, std::string(rule) + ", got '" + s + "'");
  return s;
}

std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* sig, const char* name, size_t maxBytes) {
  Napi::Env env = info.Env();
  const Napi::Value v = info[index];
  const std::string n = name;
  if (!v.IsString()) ThrowArgError(env, sig, kType, n + " must be a non-empty string, got " + Describe(v));
  const Napi::String str = v.As<Napi::String>();
  const size_t len = Utf8Length(str);
  if (len == 0) ThrowArgError(env, sig, kValue, n + " must be a non-empty string, got ''");
  if (len > maxBytes) ThrowArgError(env, sig, kValue, TooLong(n, maxBytes, len));
  std::string s = str.Utf8Value();
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

std::optional<std::string> StringOrNullField(Napi::Object opts, const char* sig, const char* field, size_t maxBytes) {
  Napi::Env env = opts.Env();
  const Napi::Value v = opts.Get(field);
  if (v.IsUndefined() || v.IsNull()) return std::nullopt;
  const std::string n = std::string("opts.") + field;
  if (!v.IsString()) ThrowArgError(env, sig, kType, n + " must be a non-empty string or null, got " + Describe(v));
  const Napi::String str = v.As<Napi::String>();
  const size_t len = Utf8Length(str);
  if (len > maxBytes) ThrowArgError(env, sig, kValue, TooLong(n, maxBytes, len));
  std::string s = str.Utf8Value();
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
