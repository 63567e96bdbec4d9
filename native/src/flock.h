// Advisory whole-file locks (flock(2)), which Node does not expose: one bentod per BENTO_HOME.
#pragma once

#include <napi.h>

namespace bento {

// Adds flock(fd, op) and flockConstants to exports.
void InitFlock(Napi::Env env, Napi::Object exports);

}  // namespace bento
