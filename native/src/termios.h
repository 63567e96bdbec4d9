// Terminal modes: the tcgetattr/tcsetattr/cfmakeraw that Node lacks. Node's setRawMode leaves OPOST
// and ONLCR on, so every LF a guest sends reaches the host terminal as CR LF; a console needs the
// full raw mode that virsh console and screen set.
#pragma once

#include <napi.h>

namespace bento {

// Adds tcgetattr(fd), tcsetattr(fd, snapshot, when), makeRaw(fd) and termiosConstants to exports.
void InitTermios(Napi::Env env, Napi::Object exports);

}  // namespace bento
