// tcgetattr(fd) -> snapshot, tcsetattr(fd, snapshot, when), makeRaw(fd) -> snapshot taken before.
// A snapshot is { raw: Buffer (the struct termios byte for byte), iflag, oflag, cflag, lflag, cc[],
// ispeed, ospeed }: `raw` is what tcsetattr takes back, so a restore is exact whatever fields the
// platform's struct has; the numbers are for reading and tests. termios is POSIX: this compiles on
// Linux and macOS alike; only Windows gets ENOSYS.
#include "termios.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "checks.h"

#if !defined(_WIN32)
#include <termios.h>
#include <unistd.h>
#endif

namespace bento {
namespace {

#if defined(_WIN32)

Napi::Value NotHere(const Napi::CallbackInfo& info) {
  ThrowSystemError(info.Env(), ENOSYS, "tcgetattr", "terminal modes are not available on Windows");
}

#else

constexpr const char* kGetSig = "tcgetattr(fd)";
constexpr const char* kSetSig = "tcsetattr(fd, snapshot, when)";
constexpr const char* kRawSig = "makeRaw(fd)";

std::string FdName(int fd) { return "fd " + std::to_string(fd); }

// tcgetattr with the message every caller wants: not open, not a terminal, or something else.
struct termios Get(Napi::Env env, int fd) {
  struct termios t;
  std::memset(&t, 0, sizeof t);
  if (tcgetattr(fd, &t) != 0) {
    const int err = errno;
    if (err == EBADF) ThrowSystemError(env, err, "tcgetattr", FdName(fd) + " is not an open file descriptor");
    if (err == ENOTTY) ThrowSystemError(env, err, "tcgetattr", FdName(fd) + " is not a terminal");
    ThrowSystemError(env, err, "tcgetattr", "cannot read the terminal modes of " + FdName(fd));
  }
  return t;
}

// tcsetattr, retried on EINTR (TCSADRAIN waits for output and a signal may cut the wait short).
int Set(int fd, int when, const struct termios& t) {
  int rc;
  do rc = tcsetattr(fd, when, &t);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

Napi::Object Snapshot(Napi::Env env, const struct termios& t) {
  Napi::Object snap = Napi::Object::New(env);
  snap.Set("raw", Napi::Buffer<char>::Copy(env, reinterpret_cast<const char*>(&t), sizeof t));
  // tcflag_t is unsigned int on Linux and unsigned long on macOS; every defined bit fits a double.
  snap.Set("iflag", Napi::Number::New(env, static_cast<double>(t.c_iflag)));
  snap.Set("oflag", Napi::Number::New(env, static_cast<double>(t.c_oflag)));
  snap.Set("cflag", Napi::Number::New(env, static_cast<double>(t.c_cflag)));
  snap.Set("lflag", Napi::Number::New(env, static_cast<double>(t.c_lflag)));
  Napi::Array cc = Napi::Array::New(env, NCCS);
  for (size_t i = 0; i < NCCS; i++) cc.Set(static_cast<uint32_t>(i), Napi::Number::New(env, t.c_cc[i]));
  snap.Set("cc", cc);
  snap.Set("ispeed", Napi::Number::New(env, static_cast<double>(cfgetispeed(&t))));
  snap.Set("ospeed", Napi::Number::New(env, static_cast<double>(cfgetospeed(&t))));
  return snap;
}

// The struct termios inside a snapshot: an object whose `raw` is a Buffer of exactly sizeof(termios).
struct termios SnapshotArgument(const Napi::CallbackInfo& info, size_t index) {
  Napi::Env env = info.Env();
  const Napi::Value arg = info[index];
  if (!arg.IsObject() || arg.IsFunction() || arg.IsBuffer()) {
    ThrowArgError(env, kSetSig, "ERR_INVALID_ARG_TYPE",
                  "snapshot must be an object from tcgetattr or makeRaw, got " +
                      (arg.IsBuffer() ? std::string("a Buffer") : Describe(arg)));
  }
  const Napi::Value raw = arg.As<Napi::Object>().Get("raw");
  if (!raw.IsBuffer()) {
    ThrowArgError(env, kSetSig, "ERR_INVALID_ARG_TYPE", "snapshot.raw must be a Buffer, got " + Describe(raw));
  }
  const Napi::Buffer<char> buf = raw.As<Napi::Buffer<char>>();
  struct termios t;
  if (buf.Length() != sizeof t) {
    ThrowArgError(env, kSetSig, "ERR_INVALID_ARG_VALUE",
                  "snapshot.raw must be " + std::to_string(sizeof t) + " bytes (a struct termios of this platform), got " +
                      std::to_string(buf.Length()));
  }
  std::memcpy(&t, buf.Data(), sizeof t);
  return t;
}

int WhenArgument(const Napi::CallbackInfo& info, size_t index) {
  const Napi::Value arg = info[index];
  if (!arg.IsNumber()) {
    ThrowArgError(info.Env(), kSetSig, "ERR_INVALID_ARG_TYPE",
                  "when must be TCSANOW, TCSADRAIN or TCSAFLUSH, got " + Describe(arg));
  }
  const double v = arg.As<Napi::Number>().DoubleValue();
  if (v == TCSANOW || v == TCSADRAIN || v == TCSAFLUSH) return static_cast<int>(v);
  ThrowArgError(info.Env(), kSetSig, "ERR_INVALID_ARG_VALUE",
                "when must be TCSANOW, TCSADRAIN or TCSAFLUSH, got " + arg.ToString().Utf8Value());
}

Napi::Value TcGetAttr(const Napi::CallbackInfo& info) {
  const int fd = FdArgument(info, 0, kGetSig);
  return Snapshot(info.Env(), Get(info.Env(), fd));
}

Napi::Value TcSetAttr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArgument(info, 0, kSetSig);
  const struct termios t = SnapshotArgument(info, 1);
  const int when = WhenArgument(info, 2);
  if (const int err = Set(fd, when, t)) {
    if (err == EBADF) ThrowSystemError(env, err, "tcsetattr", FdName(fd) + " is not an open file descriptor");
    if (err == ENOTTY) ThrowSystemError(env, err, "tcsetattr", FdName(fd) + " is not a terminal");
    ThrowSystemError(env, err, "tcsetattr", "cannot set the terminal modes of " + FdName(fd));
  }
  return env.Undefined();
}

// cfmakeraw's flag set, spelled out so Linux and macOS get the same mode (their cfmakeraw differ).
void ApplyRaw(struct termios& t) {
  t.c_iflag &= ~static_cast<tcflag_t>(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  t.c_oflag &= ~static_cast<tcflag_t>(OPOST);
  t.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  t.c_cflag &= ~static_cast<tcflag_t>(CSIZE | PARENB);
  t.c_cflag |= CS8;
  t.c_cc[VMIN] = 1;
  t.c_cc[VTIME] = 0;
}

bool SameMode(const struct termios& a, const struct termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag && a.c_lflag == b.c_lflag &&
         a.c_cc[VMIN] == b.c_cc[VMIN] && a.c_cc[VTIME] == b.c_cc[VTIME];
}

Napi::Value MakeRaw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int fd = FdArgument(info, 0, kRawSig);
  const struct termios before = Get(env, fd);
  struct termios raw = before;
  ApplyRaw(raw);
  // TCSADRAIN, as libuv does: output already written goes out in the old mode; type-ahead is kept.
  if (const int err = Set(fd, TCSADRAIN, raw)) {
    ThrowSystemError(env, err, "tcsetattr", "cannot put " + FdName(fd) + " in raw mode");
  }
  // tcsetattr succeeds if it could apply any part of the request: read back, and never leave a
  // half-raw terminal behind.
  const struct termios now = Get(env, fd);
  if (!SameMode(now, raw)) {
    Set(fd, TCSADRAIN, before);
    ThrowSystemError(env, EIO, "tcsetattr", "the terminal on " + FdName(fd) + " did not take raw mode; left as it was");
  }
  return Snapshot(env, before);
}

#endif  // _WIN32

}  // namespace

void InitTermios(Napi::Env env, Napi::Object exports) {
#if defined(_WIN32)
  exports.Set("tcgetattr", Napi::Function::New(env, NotHere, "tcgetattr"));
  exports.Set("tcsetattr", Napi::Function::New(env, NotHere, "tcsetattr"));
  exports.Set("makeRaw", Napi::Function::New(env, NotHere, "makeRaw"));
#else
  exports.Set("tcgetattr", Napi::Function::New(env, TcGetAttr, "tcgetattr"));
  exports.Set("tcsetattr", Napi::Function::New(env, TcSetAttr, "tcsetattr"));
  exports.Set("makeRaw", Napi::Function::New(env, MakeRaw, "makeRaw"));
  // The values differ between platforms; tests and wrappers read them from here.
  Napi::Object c = Napi::Object::New(env);
  const auto num = [&](const char* name, double v) { c.Set(name, Napi::Number::New(env, v)); };
  num("TCSANOW", TCSANOW);
  num("TCSADRAIN", TCSADRAIN);
  num("TCSAFLUSH", TCSAFLUSH);
  num("IGNBRK", IGNBRK);
  num("BRKINT", BRKINT);
  num("PARMRK", PARMRK);
  num("ISTRIP", ISTRIP);
  num("INLCR", INLCR);
  num("IGNCR", IGNCR);
  num("ICRNL", ICRNL);
  num("IXON", IXON);
  num("OPOST", OPOST);
  num("ONLCR", ONLCR);
  num("ECHO", ECHO);
  num("ECHONL", ECHONL);
  num("ICANON", ICANON);
  num("ISIG", ISIG);
  num("IEXTEN", IEXTEN);
  num("CSIZE", CSIZE);
  num("CS8", CS8);
  num("PARENB", PARENB);
  num("VMIN", VMIN);
  num("VTIME", VTIME);
  num("NCCS", NCCS);
  num("SIZEOF_TERMIOS", sizeof(struct termios));
  exports.Set("termiosConstants", c);
#endif
}

}  // namespace bento
