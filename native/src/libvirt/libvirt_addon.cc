// Entry point of bento_libvirt: a node-addon-api binding of libvirt's C API, built only when
// libvirt's development files are installed (see binding.gyp). src/vm/drivers/libvirt/binding.ts
// loads it and describes its JS surface (LibvirtBinding).
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <napi.h>

#include <mutex>
#include <string>

#include "connection.h"
#include "console.h"
#include "runtime.h"

namespace bento::lv {
namespace {

// Bumped whenever the exported surface changes, so the loader can tell a stale build from a
// current one. Keep in step with LIBVIRT_BINDING_VERSION in src/vm/drivers/libvirt/binding.ts.
constexpr const char* kBindingVersion = "1";

// libvirt's default error handler prints every error to stderr; bento reports them as Errors.
void IgnoreError(void*, virErrorPtr) {}

Napi::Value Version(const Napi::CallbackInfo& info) {
  unsigned long version = 0;
  if (virGetVersion(&version, nullptr, nullptr) < 0) {
    throw ToJsError(info.Env(), LastError("virGetVersion"));
  }
  const std::string s = std::to_string(version / 1000000) + "." + std::to_string((version / 1000) % 1000) + "." +
                        std::to_string(version % 1000);
  return Napi::String::New(info.Env(), s);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  static std::once_flag once;
  std::call_once(once, [] { virSetErrorFunc(nullptr, IgnoreError); });
  auto* data = new AddonData();
  data->connection = Napi::Persistent(Connection::Define(env));
  data->console = Napi::Persistent(ConsoleStream::Define(env));
  env.SetInstanceData<AddonData>(data);
  exports.Set("bindingVersion", Napi::String::New(env, kBindingVersion));
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("open", Napi::Function::New(env, Connection::Open, "open"));
  return exports;
}

}  // namespace
}  // namespace bento::lv

namespace {
// NODE_API_MODULE wants a plain identifier.
Napi::Object InitLibvirt(Napi::Env env, Napi::Object exports) {
  return bento::lv::Init(env, exports);
}
}  // namespace

NODE_API_MODULE(bento_libvirt, InitLibvirt)
