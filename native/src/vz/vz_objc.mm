#import "vz_objc.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

namespace bento::vz {

std::string StdString(NSString* s) {
  if (s == nil) return std::string();
  const char* utf8 = [s UTF8String];
  return utf8 ? std::string(utf8) : std::string();
}

NSString* NSStr(const std::string& s) {
  return [[NSString alloc] initWithBytes:s.data() length:s.size() encoding:NSUTF8StringEncoding];
}

ErrorInfo InfoFromNSError(NSError* error, const std::string& context) {
  ErrorInfo info;
  info.kind = "vz";
  if (error == nil) {
    info.message = context.empty() ? "unknown error (no NSError was given)" : context + ": unknown error";
    return info;
  }
  info.domain = StdString(error.domain);
  info.code = static_cast<long long>(error.code);
  info.hasCode = true;
  std::string description = StdString(error.localizedDescription);
  info.message = context.empty() ? description : context + ": " + description;
  info.failureReason = StdString(error.localizedFailureReason);
  // An underlying POSIX error often says what actually went wrong (a missing file, a permission).
  NSError* underlying = error.userInfo[NSUnderlyingErrorKey];
  if ([underlying isKindOfClass:[NSError class]]) {
    std::string more = StdString(underlying.localizedDescription);
    if (!more.empty() && info.message.find(more) == std::string::npos) info.message += " (" + more + ")";
  }
  return info;
}

ErrorInfo InfoFromNSException(NSException* exception, const std::string& context) {
  ErrorInfo info;
  info.kind = "exception";
  info.exceptionName = StdString(exception.name);
  std::string reason = StdString(exception.reason);
  if (reason.empty()) reason = "an Objective-C exception was raised";
  info.message = context.empty() ? reason : context + ": " + reason;
  return info;
}

void ConsolePipes::CloseAll() {
  for (int* fd : {&hostRead, &hostWrite}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  // Closing an end an NSFileHandle owns would close it twice (the second time, maybe someone else's fd).
  if (!guestAdopted) {
    for (int* fd : {&guestRead, &guestWrite}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
  }
}

bool MakeConsolePipes(ConsolePipes* p) {
  int out[2] = {-1, -1};  // guest writes out[1], host reads out[0]
  int in[2] = {-1, -1};   // host writes in[1], guest reads in[0]
  if (pipe(out) != 0) return false;
  if (pipe(in) != 0) {
    int saved = errno;
    close(out[0]);
    close(out[1]);
    errno = saved;
    return false;
  }
  for (int fd : {out[0], out[1], in[0], in[1]}) fcntl(fd, F_SETFD, FD_CLOEXEC);
  p->hostRead = out[0];
  p->guestWrite = out[1];
  p->guestRead = in[0];
  p->hostWrite = in[1];
  return true;
}

}  // namespace bento::vz
