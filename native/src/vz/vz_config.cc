#include "vz_config.h"

#include <cmath>
#include <limits>

namespace bento::vz {

namespace {

[[noreturn]] void Fail(Napi::Env env, const std::string& field, const std::string& rule) {
  throw Napi::TypeError::New(env, "vz configuration: " + field + " " + rule);
}

Napi::Object RequireObject(Napi::Env env, Napi::Value v, const std::string& field) {
  if (!v.IsObject() || v.IsArray() || v.IsFunction()) Fail(env, field, "must be an object");
  return v.As<Napi::Object>();
}

std::string RequireString(Napi::Env env, Napi::Object o, const char* key, const std::string& field, bool allowEmpty = false) {
  Napi::Value v = o.Get(key);
  if (!v.IsString()) Fail(env, field, "must be a string");
  std::string s = v.As<Napi::String>().Utf8Value();
  if (!allowEmpty && s.empty()) Fail(env, field, "must not be empty");
  // A NUL would silently cut the path short once it becomes an NSString/C string.
  if (s.find('\0') != std::string::npos) Fail(env, field, "must not contain NUL");
  return s;
}

std::optional<std::string> OptionalString(Napi::Env env, Napi::Object o, const char* key, const std::string& field) {
  Napi::Value v = o.Get(key);
  if (v.IsNull() || v.IsUndefined()) return std::nullopt;
  return RequireString(env, o, key, field);
}

bool RequireBool(Napi::Env env, Napi::Object o, const char* key, const std::string& field) {
  Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) Fail(env, field, "must be true or false");
  return v.As<Napi::Boolean>().Value();
}

double RequireWhole(Napi::Env env, Napi::Object o, const char* key, const std::string& field, double min, double max) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) Fail(env, field, "must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d || d < min || d > max) {
    Fail(env, field, "must be a whole number from " + std::to_string(static_cast<long long>(min)) + " to " +
                         std::to_string(static_cast<long long>(max)));
  }
  return d;
}

Napi::Array RequireArray(Napi::Env env, Napi::Object o, const char* key, const std::string& field) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) Fail(env, field, "must be an array");
  return v.As<Napi::Array>();
}

}  // namespace

Config ParseConfig(Napi::Env env, Napi::Value value) {
  Napi::Object o = RequireObject(env, value, "(config)");
  Config c;
  c.cpus = static_cast<uint32_t>(RequireWhole(env, o, "cpus", "cpus", 1, 1024));
  // Up to 2^53 bytes: exact in a double, and far above any Mac's memory.
  c.memoryBytes = static_cast<uint64_t>(RequireWhole(env, o, "memoryBytes", "memoryBytes", 1, 9007199254740992.0));

  Napi::Object boot = RequireObject(env, o.Get("boot"), "boot");
  std::string kind = RequireString(env, boot, "kind", "boot.kind");
  if (kind == "linux") {
    LinuxBoot lb;
    lb.kernel = RequireString(env, boot, "kernel", "boot.kernel");
    lb.initrd = OptionalString(env, boot, "initrd", "boot.initrd");
    lb.cmdline = RequireString(env, boot, "cmdline", "boot.cmdline", /*allowEmpty=*/true);
    c.linuxBoot = lb;
  } else if (kind == "efi") {
    c.efiBoot = EfiBoot{RequireString(env, boot, "variableStore", "boot.variableStore")};
  } else {
    Fail(env, "boot.kind", "must be \"linux\" or \"efi\"");
  }
  c.machineIdentifier = OptionalString(env, o, "machineIdentifier", "machineIdentifier");

  Napi::Array disks = RequireArray(env, o, "disks", "disks");
  for (uint32_t i = 0; i < disks.Length(); i++) {
    std::string f = "disks[" + std::to_string(i) + "]";
    Napi::Object d = RequireObject(env, disks.Get(i), f);
    c.disks.push_back(Disk{RequireString(env, d, "path", f + ".path"), RequireBool(env, d, "readOnly", f + ".readOnly"),
                           RequireBool(env, d, "cachedFullSync", f + ".cachedFullSync")});
  }

  Napi::Value iso = o.Get("iso");
  if (!iso.IsNull() && !iso.IsUndefined()) {
    Napi::Object io = RequireObject(env, iso, "iso");
    c.iso = Iso{RequireString(env, io, "path", "iso.path"), RequireBool(env, io, "usb", "iso.usb")};
  }

  Napi::Value net = o.Get("network");
  if (!net.IsNull() && !net.IsUndefined()) {
    c.mac = RequireString(env, RequireObject(env, net, "network"), "mac", "network.mac");
  }

  c.entropy = RequireBool(env, o, "entropy", "entropy");
  c.balloon = RequireBool(env, o, "balloon", "balloon");

  Napi::Array shares = RequireArray(env, o, "shares", "shares");
  for (uint32_t i = 0; i < shares.Length(); i++) {
    std::string f = "shares[" + std::to_string(i) + "]";
    Napi::Object s = RequireObject(env, shares.Get(i), f);
    c.shares.push_back(Share{RequireString(env, s, "tag", f + ".tag"), RequireString(env, s, "path", f + ".path"),
                             RequireBool(env, s, "readOnly", f + ".readOnly")});
  }
  return c;
}

}  // namespace bento::vz
