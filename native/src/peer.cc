// getPeerCredentials(fd): who is on the other end of a connected Unix-domain socket.
// Linux reads SO_PEERCRED (uid, gid, pid); macOS getpeereid plus LOCAL_PEERPID; the BSDs getpeereid
// (no pid). Every bad input becomes a thrown JS error, never a crash: argument problems are
// TypeErrors, system problems are Errors carrying `code` (errno name), `errno` and `syscall`.
#include "peer.h"

#include "checks.h"

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#if !defined(_WIN32)
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>
#endif

namespace bento {
namespace {

constexpr const char* kSignature = "getPeerCredentials(fd)";

int FdArgument(const Napi::CallbackInfo& info) { return bento::FdArgument(info, 0, kSignature); }

#if defined(_WIN32)

Napi::Value GetPeerCredentials(const Napi::CallbackInfo& info) {
  const int fd = FdArgument(info);
  ThrowSystemError(info.Env(), ENOSYS, "getPeerCredentials",
                   "fd " + std::to_string(fd) + ": peer credentials are not available on Windows");
}

#else

// Refuses anything but a connected Unix-domain socket, with a message that says which it was.
void RequireConnectedUnixSocket(Napi::Env env, int fd) {
  const std::string name = "fd " + std::to_string(fd);
  sockaddr_storage addr;
  std::memset(&addr, 0, sizeof addr);
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    if (err == EBADF) ThrowSystemError(env, err, "getsockname", name + " is not an open file descriptor");
    if (err == ENOTSOCK) ThrowSystemError(env, err, "getsockname", name + " is not a socket");
    ThrowSystemError(env, err, "getsockname", "cannot inspect socket " + name);
  }
  // An unbound Unix socket may report a short address; only a family we can read is judged.
  const bool has_family = len >= offsetof(sockaddr, sa_family) + sizeof(addr.ss_family);
  if (has_family && addr.ss_family != AF_UNIX) {
    ThrowSystemError(env, EAFNOSUPPORT, "getsockname",
                     name + " is not a Unix-domain socket (address family " +
                         std::to_string(addr.ss_family) + ")");
  }
  // A listening or unconnected socket would report our own credentials (Linux) or stale ones:
  // refuse it rather than let a caller mistake them for a client's.
  std::memset(&addr, 0, sizeof addr);
  len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    if (err == ENOTCONN) ThrowSystemError(env, err, "getpeername", name + " has no connected peer");
    ThrowSystemError(env, err, "getpeername", "cannot inspect the peer of " + name);
  }
}

Napi::Value GetPeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArgument(info);
  RequireConnectedUnixSocket(env, fd);
  const std::string name = "fd " + std::to_string(fd);

  Napi::Object creds = Napi::Object::New(env);
#if defined(__linux__)
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    ThrowSystemError(env, errno, "getsockopt", "cannot read SO_PEERCRED of " + name);
  }
  creds.Set("uid", Napi::Number::New(env, static_cast<double>(cred.uid)));
  creds.Set("gid", Napi::Number::New(env, static_cast<double>(cred.gid)));
  // The kernel reports pid 0 when the peer lives in a pid namespace we cannot see.
  creds.Set("pid", cred.pid > 0 ? Napi::Number::New(env, cred.pid) : env.Null());
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || defined(__NetBSD__) || \
    defined(__DragonFly__)
  uid_t uid;
  gid_t gid;
  if (getpeereid(fd, &uid, &gid) != 0) {
    ThrowSystemError(env, errno, "getpeereid", "cannot read the peer credentials of " + name);
  }
  creds.Set("uid", Napi::Number::New(env, static_cast<double>(uid)));
  creds.Set("gid", Napi::Number::New(env, static_cast<double>(gid)));
  Napi::Value pid = env.Null();
#if defined(__APPLE__) && defined(LOCAL_PEERPID)
  pid_t peer_pid = 0;
  socklen_t pid_len = sizeof peer_pid;
  // The pid is for logs only; uid and gid decide. A failure here leaves it null rather than
  // refusing a client whose credentials were read fine.
  if (getsockopt(fd, SOL_LOCAL, LOCAL_PEERPID, &peer_pid, &pid_len) == 0 && peer_pid > 0) {
    pid = Napi::Number::New(env, peer_pid);
  }
#endif
  creds.Set("pid", pid);
#else
  ThrowSystemError(env, ENOSYS, "getPeerCredentials",
                   name + ": peer credentials are not implemented on this platform");
#endif
  return creds;
}

#endif  // _WIN32

}  // namespace

void InitPeer(Napi::Env env, Napi::Object exports) {
  exports.Set("getPeerCredentials", Napi::Function::New(env, GetPeerCredentials, "getPeerCredentials"));
}

}  // namespace bento
