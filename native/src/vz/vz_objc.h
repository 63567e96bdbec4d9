// Objective-C++ helpers of the vz binding (macOS only): NSError/NSException to ErrorInfo, strings,
// and the configuration builder. ARC is on for every .mm file (binding.gyp).
#pragma once

#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>

#include <string>

#include "vz_common.h"
#include "vz_config.h"

namespace bento::vz {

// The NSError's domain, code, description and failure reason; "unknown error" for nil.
ErrorInfo InfoFromNSError(NSError* error, const std::string& context = "");

// An NSException's name and reason, kind "exception".
ErrorInfo InfoFromNSException(NSException* exception, const std::string& context = "");

// A UTF-8 std::string for an NSString (empty for nil).
std::string StdString(NSString* s);

// An NSString for UTF-8 bytes; nil when they are not valid UTF-8.
NSString* NSStr(const std::string& s);

// Pipe ends for the virtio console: the VM keeps guestRead/guestWrite (as NSFileHandles), JS gets
// hostRead (guest output) and hostWrite (guest input). All close-on-exec.
struct ConsolePipes {
  int hostRead = -1;
  int hostWrite = -1;
  int guestRead = -1;
  int guestWrite = -1;
  // Set once NSFileHandles (closeOnDealloc) own the guest ends: from then on only ARC closes them.
  bool guestAdopted = false;
  // Closes whatever is still ours (used when building fails): never an end a file handle owns.
  void CloseAll();
};

// Makes both pipes; false (errno set) on failure, with nothing left open.
bool MakeConsolePipes(ConsolePipes* pipes);

// Builds a VZVirtualMachineConfiguration from the parsed config and validates it with
// validateWithError:. On failure returns nil and fills *error; never throws (NSExceptions are caught).
// The guest ends of the pipes pass to NSFileHandles (closeOnDealloc) part way through, success or not:
// pipes->guestAdopted says whether they did.
VZVirtualMachineConfiguration* BuildConfiguration(const Config& config, ConsolePipes* pipes, ErrorInfo* error);

}  // namespace bento::vz
