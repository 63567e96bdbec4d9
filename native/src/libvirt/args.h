// Argument checks for the libvirt binding's methods. The checks live here, in C++, because the raw
// binding is what src/vm/drivers/libvirt/binding.ts hands out: a wrong value must become a TypeError
// that names the argument and the rule (bento::ThrowArgError), never reach libvirt.
#pragma once

#include <napi.h>

#include <optional>
#include <string>

namespace bento::lv {

// info[index] as a domain UUID: a string of 36 characters, 8-4-4-4-12 hex digits.
std::string UuidArg(const Napi::CallbackInfo& info, size_t index, const char* sig);

// info[index] as a non-empty string without NUL characters.
std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* sig, const char* name);

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
// A string field that may also be null (given as nullopt, like undefined).
std::optional<std::string> StringOrNullField(Napi::Object opts, const char* sig, const char* field);
Napi::Function FunctionField(Napi::Object opts, const char* sig, const char* field);

}  // namespace bento::lv
