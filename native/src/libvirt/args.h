// Argument checks for the libvirt binding's methods: a wrong value becomes a TypeError that names the
// argument and the rule (bento::ThrowArgError), never reaches libvirt. src/vm/drivers/libvirt/binding.ts
// checks the same rules first (its ARGS table, which must stay identical to these checks and limits);
// these are the second line, for the raw binding reached on its own.
#pragma once

#include <napi.h>

#include <optional>
#include <string>

namespace bento::lv {

// info[index] as a domain UUID: a string of 36 characters, 8-4-4-4-12 hex digits.
std::string UuidArg(const Napi::CallbackInfo& info, size_t index, const char* sig);

// Longest strings accepted, in UTF-8 bytes (mirrored by LIBVIRT_ARG_LIMITS in binding.ts).
constexpr size_t kUriMaxBytes = 4096;
constexpr size_t kNameMaxBytes = 1024;
constexpr size_t kXmlMaxBytes = 10 * 1024 * 1024;
constexpr size_t kDeviceMaxBytes = 1024;

// info[index] as a non-empty string of at most maxBytes UTF-8 bytes without NUL characters.
std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* sig, const char* name, size_t maxBytes);

// info[index] as libvirt flags: undefined means 0, else an integer in [0, 2^32-1].
unsigned int FlagsArg(const Napi::CallbackInfo& info, size_t index, const char* sig);

// info[index] as a function.
Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t index, const char* sig, const char* name);

// info[index] as an options object: undefined gives nullopt, anything but a plain object throws.
std::optional<Napi::Object> OptionsArg(const Napi::CallbackInfo& info, size_t index, const char* sig, const char* name,
                                       bool required);

// Fields of an options object; `name` is shown as "opts.<field>". Absent (undefined) gives nullopt.
std::optional<long> IntField(Napi::Object opts, const char* sig, const char* field, long min, long max, const std::string& rule);
std::optional<bool> BoolField(Napi::Object opts, const char* sig, const char* field);
// A string field (at most maxBytes UTF-8 bytes) that may also be null (given as nullopt, like undefined).
std::optional<std::string> StringOrNullField(Napi::Object opts, const char* sig, const char* field, size_t maxBytes);
Napi::Function FunctionField(Napi::Object opts, const char* sig, const char* field);

}  // namespace bento::lv
