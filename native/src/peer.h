// Peer credentials of a Unix-domain socket client: the piece of SO_PEERCRED / getpeereid that
// Node does not expose and bentod needs to refuse clients running as another user.
#pragma once

#include <napi.h>

namespace bento {

// Adds getPeerCredentials(fd) to the addon's exports.
void InitPeer(Napi::Env env, Napi::Object exports);

}  // namespace bento
