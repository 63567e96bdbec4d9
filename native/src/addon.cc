// Entry point of bento_native: gathers each part's exports into one module object.
#include <napi.h>

#include "flock.h"
#include "peer.h"
#include "termios.h"

namespace {

// Bumped whenever the exported surface changes, so the loader can tell a stale build from a current
// one instead of failing later with "x is not a function". Keep in step with src/native/native.ts.
constexpr const char* kBindingVersion = "3";

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("version", Napi::String::New(env, kBindingVersion));
  bento::InitPeer(env, exports);
  bento::InitTermios(env, exports);
  bento::InitFlock(env, exports);
  // PENDING: on macOS the vz binding (src/vz/*.mm) will register itself here behind BENTO_WITH_VZ,
  // once binding.gyp lists its sources.
  return exports;
}

}  // namespace

NODE_API_MODULE(bento_native, Init)
