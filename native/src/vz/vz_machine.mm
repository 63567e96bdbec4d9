#import "vz_machine.h"

#import "vz_objc.h"

// Save/restore exist on Apple silicon only (the SDK declares them inside `#if defined(__arm64__)`),
// from the macOS 14 SDK on.
#if defined(__arm64__) && defined(__MAC_14_0) && __MAC_OS_X_VERSION_MAX_ALLOWED >= __MAC_14_0
#define BENTO_VZ_SAVE_RESTORE 1
#else
#define BENTO_VZ_SAVE_RESTORE 0
#endif

namespace bento::vz {

static char gStateContextTag;
void* const kStateContext = &gStateContextTag;

namespace {

const char* StateName(VZVirtualMachineState state) {
  static const char* const names[] = {"stopped", "running", "paused", "error", "starting",
                                      "pausing", "resuming", "stopping", "saving", "restoring"};
  long long i = static_cast<long long>(state);
  return i >= 0 && i < 10 ? names[i] : "in an unknown state";
}

// Why an operation cannot run in the VM's current state: checked first, so the error names the state.
ErrorInfo StateError(const char* op, VZVirtualMachine* vm) {
  return ErrorInfo::Simple("state", std::string("cannot ") + op + " the VM while it is " + StateName(vm.state));
}

using CompletionBlock = void (^)(NSError* _Nullable);

// The completion handler every asynchronous VZVirtualMachine call gets.
CompletionBlock Completion(std::shared_ptr<Settle> settle) {
  return ^(NSError* error) {
    if (error != nil) settle->Reject(InfoFromNSError(error));
    else settle->Resolve();
  };
}

std::string PathArg(const Napi::CallbackInfo& info, const char* op) {
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(info.Env(), std::string(op) + "(file): file must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (path.empty() || path.find('\0') != std::string::npos) throw Napi::TypeError::New(info.Env(), std::string(op) + "(file): file must be a non-empty path");
  return path;
}

}  // namespace

Napi::Function VzMachine::Define(Napi::Env env) {
  return DefineClass(env, "VzMachine",
                     {
                         InstanceMethod<&VzMachine::Start>("start"),
                         InstanceMethod<&VzMachine::Pause>("pause"),
                         InstanceMethod<&VzMachine::Resume>("resume"),
                         InstanceMethod<&VzMachine::RequestStop>("requestStop"),
                         InstanceMethod<&VzMachine::Stop>("stop"),
                         InstanceMethod<&VzMachine::Save>("save"),
                         InstanceMethod<&VzMachine::Restore>("restore"),
                         InstanceMethod<&VzMachine::Status>("status"),
                         InstanceMethod<&VzMachine::Dispose>("dispose"),
                     });
}

VzMachine::VzMachine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<VzMachine>(info) {}

VzMachine::~VzMachine() {
  // Reached only when JS dropped the object without dispose() (the TSFN holds onEvent, so normally the
  // object lives until dispose()). Tear down the same way; the queue block keeps what it needs alive.
  Teardown();
}

void VzMachine::Adopt(Parts parts) {
  parts_ = std::move(parts);
}

Napi::Value VzMachine::Run(const Napi::CallbackInfo& info, const std::string& op, Body body) {
  Napi::Env env = info.Env();
  if (disposed_ || parts_.vm == nil) throw ToJsError(env, ErrorInfo::Simple("state", op + ": the VM has been disposed"));
  auto* deferred = new Napi::Promise::Deferred(env);
  Napi::Promise promise = deferred->Promise();
  auto settle = std::make_shared<Settle>(parts_.channel, deferred);
  VZVirtualMachine* vm = parts_.vm;
  std::string name = op;
  // Never dispatch_sync here: the JS thread must not wait on a queue the framework may keep busy.
  dispatch_async(parts_.queue, ^{
    @try {
      body(vm, settle);
    } @catch (NSException* exception) {
      settle->Reject(InfoFromNSException(exception, name));
    }
  });
  return promise;
}

Napi::Value VzMachine::Start(const Napi::CallbackInfo& info) {
  return Run(info, "start", ^(VZVirtualMachine* vm, std::shared_ptr<Settle> settle) {
    if (!vm.canStart) {
      settle->Reject(StateError("start", vm));
      return;
    }
    [vm startWithCompletionHandler:Completion(settle)];
  });
}

Napi::Value VzMachine::Pause(const Napi::CallbackInfo& info) {
  return Run(info, "pause", ^(VZVirtualMachine* vm, std::shared_ptr<Settle> settle) {
    if (!vm.canPause) {
      settle->Reject(StateError("pause", vm));
      return;
    }
    [vm pauseWithCompletionHandler:Completion(settle)];
  });
}

Napi::Value VzMachine::Resume(const Napi::CallbackInfo& info) {
  return Run(info, "resume", ^(VZVirtualMachine* vm, std::shared_ptr<Settle> settle) {
    if (!vm.canResume) {
      settle->Reject(StateError("resume", vm));
      return;
    }
    [vm resumeWithCompletionHandler:Completion(settle)];
  });
}

Napi::Value VzMachine::RequestStop(const Napi::CallbackInfo& info) {
  return Run(info, "requestStop", ^(VZVirtualMachine* vm, std::shared_ptr<Settle> settle) {
    if (!vm.canRequestStop) {
      settle->Reject(StateError("ask the guest to stop", vm));
      return;
    }
    NSError* error = nil;
    if ([vm requestStopWithError:&error]) settle->Resolve();
    else settle->Reject(InfoFromNSError(error));
  });
}

Napi::Value VzMachine::Stop(const Napi::CallbackInfo& info) {
  if (@available(macOS 12, *)) {
    return Run(info, "stop", ^(VZVirtualMachine* vm, std::shared_ptr<Settle> settle) {
      if (@available(macOS 12, *)) {  // repeated inside the block for the compiler's availability check
        if (!vm.canStop) {
          settle->Reject(StateError("stop", vm));
          return;
        }
        [vm stopWithCompletionHandler:Completion(settle)];
      }
    });
  }
  throw ToJsError(info.Env(), ErrorInfo::Simple("unsupported", "a forced stop (stopWithCompletionHandler:) needs macOS 12 or later"));
}

Napi::Value VzMachine::Save(const Napi::CallbackInfo& info) {
  std::string path = PathArg(info, "save");
  (void)path;  // unused when the SDK has no save/restore
#if BENTO_VZ_SAVE_RESTORE
  if (@available(macOS 14, *)) {
    VZVirtualMachineConfiguration* configuration = parts_.configuration;
    return Run(info, "save", ^(VZVirtualMachine* vm, std::shared_ptr<Settle> settle) {
      if (@available(macOS 14, *)) {
        NSError* error = nil;
        if (![configuration validateSaveRestoreSupportWithError:&error]) {
          settle->Reject(InfoFromNSError(error));
          return;
        }
        NSString* p = NSStr(path);
        if (p == nil) {
          settle->Reject(ErrorInfo::Simple("config", "save: the path is not valid UTF-8"));
          return;
        }
        [vm saveMachineStateToURL:[NSURL fileURLWithPath:p] completionHandler:Completion(settle)];
      }
    });
  }
#endif
  throw ToJsError(info.Env(), ErrorInfo::Simple("unsupported", "saving a VM's state needs macOS 14 or later on Apple silicon"));
}

Napi::Value VzMachine::Restore(const Napi::CallbackInfo& info) {
  std::string path = PathArg(info, "restore");
  (void)path;
#if BENTO_VZ_SAVE_RESTORE
  if (@available(macOS 14, *)) {
    VZVirtualMachineConfiguration* configuration = parts_.configuration;
    return Run(info, "restore", ^(VZVirtualMachine* vm, std::shared_ptr<Settle> settle) {
      if (@available(macOS 14, *)) {
        NSError* error = nil;
        if (![configuration validateSaveRestoreSupportWithError:&error]) {
          settle->Reject(InfoFromNSError(error));
          return;
        }
        NSString* p = NSStr(path);
        if (p == nil) {
          settle->Reject(ErrorInfo::Simple("config", "restore: the path is not valid UTF-8"));
          return;
        }
        [vm restoreMachineStateFromURL:[NSURL fileURLWithPath:p] completionHandler:Completion(settle)];
      }
    });
  }
#endif
  throw ToJsError(info.Env(), ErrorInfo::Simple("unsupported", "restoring a VM's state needs macOS 14 or later on Apple silicon"));
}

Napi::Value VzMachine::Status(const Napi::CallbackInfo& info) {
  return Run(info, "status", ^(VZVirtualMachine* vm, std::shared_ptr<Settle> settle) {
    Message::Status s;
    s.state = static_cast<long long>(vm.state);
    s.canStart = vm.canStart;
    s.canPause = vm.canPause;
    s.canResume = vm.canResume;
    s.canRequestStop = vm.canRequestStop;
    if (@available(macOS 12, *)) s.canStop = vm.canStop;
    settle->ResolveStatus(s);
  });
}

Napi::Value VzMachine::Dispose(const Napi::CallbackInfo& info) {
  Teardown();
  return info.Env().Undefined();
}

void VzMachine::Teardown() {
  if (disposed_) return;
  disposed_ = true;
  Parts parts = std::move(parts_);
  parts_ = Parts();
  if (parts.vm == nil || parts.queue == nil) {
    if (parts.channel) parts.channel->Close();
    return;
  }
  VZVirtualMachine* vm = parts.vm;
  BentoVzObserver* observer = parts.observer;
  std::shared_ptr<Channel> channel = parts.channel;
  // On the queue, after anything already queued: KVO and delegate calls happen there, so once this
  // block has run none can follow. The block holds the VM until then.
  dispatch_async(parts.queue, ^{
    @try {
      [vm removeObserver:observer forKeyPath:@"state" context:kStateContext];
    } @catch (NSException* exception) {
      // Not registered (a failed creation): nothing to remove.
    }
    vm.delegate = nil;
    if (channel) channel->Close();
  });
}

}  // namespace bento::vz

@implementation BentoVzObserver {
  std::shared_ptr<bento::vz::Channel> _channel;
}

- (instancetype)initWithChannel:(std::shared_ptr<bento::vz::Channel>)channel {
  self = [super init];
  if (self != nil) _channel = std::move(channel);
  return self;
}

- (void)observeValueForKeyPath:(NSString*)keyPath
                      ofObject:(id)object
                        change:(NSDictionary<NSKeyValueChangeKey, id>*)change
                       context:(void*)context {
  if (context != bento::vz::kStateContext) {
    [super observeValueForKeyPath:keyPath ofObject:object change:change context:context];
    return;
  }
  id value = change[NSKeyValueChangeNewKey];
  // Called on the VM's queue (where the change happened), so reading `state` there is allowed too.
  long long state = [value isKindOfClass:[NSNumber class]] ? [(NSNumber*)value longLongValue]
                                                            : static_cast<long long>(((VZVirtualMachine*)object).state);
  _channel->PostState(state);
}

- (void)guestDidStopVirtualMachine:(VZVirtualMachine*)virtualMachine {
  _channel->PostEvent("guest-did-stop");
}

- (void)virtualMachine:(VZVirtualMachine*)virtualMachine didStopWithError:(NSError*)error {
  _channel->PostEventError("did-stop-with-error", bento::vz::InfoFromNSError(error));
}

- (void)virtualMachine:(VZVirtualMachine*)virtualMachine
                   networkDevice:(VZNetworkDevice*)networkDevice
    attachmentWasDisconnectedWithError:(NSError*)error API_AVAILABLE(macos(12.0)) {
  _channel->PostEventError("network-disconnected", bento::vz::InfoFromNSError(error));
}

@end
