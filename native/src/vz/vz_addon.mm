// Entry point of bento_vz.node, the Virtualization.framework binding (macOS only; built as its own
// module so the every-OS addon, bento_native.node, never depends on it). Exports:
//   version                      kVzBindingVersion, checked by src/vm/drivers/vz/binding.ts
//   info()                       macOS version, arch, isSupported, entitlement, features, limits
//   createMachine(config, onEvent) -> VzMachine (see vz_machine.h)
#import <Foundation/Foundation.h>
#import <Security/Security.h>
#import <Virtualization/Virtualization.h>

#include <errno.h>
#include <string.h>

#include <napi.h>

#import "vz_machine.h"
#import "vz_objc.h"

#if !defined(__MAC_13_0) || __MAC_OS_X_VERSION_MAX_ALLOWED < __MAC_13_0
#error "bento's vz binding needs the macOS 13 SDK or later (Xcode 14+); build without it: node-gyp rebuild --bento_vz=false"
#endif

namespace bento::vz {
namespace {

// Bumped whenever the exported surface changes; keep in step with VZ_BINDING_VERSION in binding.ts.
constexpr const char* kVzBindingVersion = "1";

// Whether this process's executable carries com.apple.security.virtualization. The entitlement belongs
// to the executable (the signed node), never to this addon; without it every VM is refused.
bool HasVirtualizationEntitlement() {
  SecTaskRef task = SecTaskCreateFromSelf(kCFAllocatorDefault);
  if (task == nullptr) return false;
  CFTypeRef value = SecTaskCopyValueForEntitlement(task, CFSTR("com.apple.security.virtualization"), nullptr);
  CFRelease(task);
  bool entitled = value != nullptr && CFGetTypeID(value) == CFBooleanGetTypeID() && CFBooleanGetValue(static_cast<CFBooleanRef>(value));
  if (value != nullptr) CFRelease(value);
  return entitled;
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  NSOperatingSystemVersion v = [NSProcessInfo processInfo].operatingSystemVersion;
  std::string macos = std::to_string(v.majorVersion) + "." + std::to_string(v.minorVersion);
  if (v.patchVersion != 0) macos += "." + std::to_string(v.patchVersion);

  Napi::Object features = Napi::Object::New(env);
  bool at12 = false, at13 = false, at14 = false;
  if (@available(macOS 12, *)) at12 = true;
  if (@available(macOS 13, *)) at13 = true;
  if (@available(macOS 14, *)) at14 = true;
#if defined(__arm64__) && defined(__MAC_14_0) && __MAC_OS_X_VERSION_MAX_ALLOWED >= __MAC_14_0
  bool saveRestore = at14;
#else
  bool saveRestore = false;
  (void)at14;
#endif
  features.Set("stop", at12);
  features.Set("diskCaching", at12);
  features.Set("virtiofs", at12);
  features.Set("efi", at13);
  features.Set("usbStorage", at13);
  features.Set("saveRestore", saveRestore);

  Napi::Object limits = Napi::Object::New(env);
  limits.Set("minCpus", static_cast<double>(VZVirtualMachineConfiguration.minimumAllowedCPUCount));
  limits.Set("maxCpus", static_cast<double>(VZVirtualMachineConfiguration.maximumAllowedCPUCount));
  limits.Set("minMemoryBytes", static_cast<double>(VZVirtualMachineConfiguration.minimumAllowedMemorySize));
  limits.Set("maxMemoryBytes", static_cast<double>(VZVirtualMachineConfiguration.maximumAllowedMemorySize));

  Napi::Object out = Napi::Object::New(env);
  out.Set("macos", macos);
  out.Set("macosMajor", static_cast<double>(v.majorVersion));
#if defined(__arm64__)
  out.Set("arch", "arm64");
#else
  out.Set("arch", "x64");
#endif
  out.Set("supported", static_cast<bool>(VZVirtualMachine.isSupported));
  out.Set("entitled", HasVirtualizationEntitlement());
  out.Set("features", features);
  out.Set("limits", limits);
  return out;
}

Napi::Value CreateMachine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[1].IsFunction()) {
    throw Napi::TypeError::New(env, "createMachine(config, onEvent): onEvent must be a function");
  }
  Config config = ParseConfig(env, info[0]);
  if (!VZVirtualMachine.isSupported) {
    throw ToJsError(env, ErrorInfo::Simple("unsupported", "Virtualization.framework says this Mac cannot run VMs (VZVirtualMachine.isSupported is false)"));
  }

  ConsolePipes pipes;
  if (!MakeConsolePipes(&pipes)) throw ToJsError(env, ErrorInfo::Simple("io", std::string("pipe() for the console failed: ") + strerror(errno)));
  ErrorInfo error;
  VZVirtualMachineConfiguration* configuration = BuildConfiguration(config, &pipes, &error);
  if (configuration == nil) {
    pipes.CloseAll();
    throw ToJsError(env, error);
  }

  // One ThreadSafeFunction per VM carries events and promise settlements; unlimited queue, so calls
  // from the VM's queue never block or fail for lack of room.
  Tsfn tsfn = Tsfn::New(env, info[1].As<Napi::Function>(), "bento-vz", 0, 1);
  auto channel = std::make_shared<Channel>(tsfn);
  BentoVzObserver* observer = [[BentoVzObserver alloc] initWithChannel:channel];
  dispatch_queue_t queue = dispatch_queue_create("dev.bento.vz.machine", DISPATCH_QUEUE_SERIAL);

  // Created, observed and given its delegate on its own queue, which is new and idle: this wait is
  // bounded, and no operation or event can come before the observer is in place.
  __block VZVirtualMachine* vm = nil;
  __block NSException* raised = nil;
  dispatch_sync(queue, ^{
    bool observing = false;
    @try {
      vm = [[VZVirtualMachine alloc] initWithConfiguration:configuration queue:queue];
      [vm addObserver:observer forKeyPath:@"state" options:NSKeyValueObservingOptionNew context:kStateContext];
      observing = true;
      vm.delegate = observer;
    } @catch (NSException* exception) {
      raised = exception;
      if (observing) {
        @try {
          [vm removeObserver:observer forKeyPath:@"state" context:kStateContext];
        } @catch (NSException* ignored) {
        }
      }
      vm = nil;
    }
  });
  if (vm == nil) {
    channel->Close();
    pipes.CloseAll();
    throw ToJsError(env, raised != nil ? InfoFromNSException(raised, "creating the VM")
                                       : ErrorInfo::Simple("vz", "VZVirtualMachine could not be created"));
  }

  Napi::Object obj;
  try {
    obj = env.GetInstanceData<Napi::FunctionReference>()->Value().New({});
  } catch (const Napi::Error&) {
    // Undo on the queue, as VzMachine::Teardown would, so the VM never outlives its observer.
    dispatch_async(queue, ^{
      @try {
        [vm removeObserver:observer forKeyPath:@"state" context:kStateContext];
      } @catch (NSException* ignored) {
      }
      vm.delegate = nil;
      channel->Close();
    });
    pipes.CloseAll();
    throw;
  }
  VzMachine* machine = VzMachine::Unwrap(obj);
  VzMachine::Parts parts;
  parts.vm = vm;
  parts.configuration = configuration;
  parts.queue = queue;
  parts.observer = observer;
  parts.channel = channel;
  machine->Adopt(std::move(parts));
  // The host ends of the console pipes now belong to JS (net.Socket closes them).
  obj.DefineProperties({
      Napi::PropertyDescriptor::Value("consoleReadFd", Napi::Number::New(env, pipes.hostRead), napi_enumerable),
      Napi::PropertyDescriptor::Value("consoleWriteFd", Napi::Number::New(env, pipes.hostWrite), napi_enumerable),
  });
  return obj;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  Napi::Function machineClass = VzMachine::Define(env);
  // The class stays reachable for createMachine; Node frees the reference with the environment.
  env.SetInstanceData<Napi::FunctionReference>(new Napi::FunctionReference(Napi::Persistent(machineClass)));
  exports.Set("version", Napi::String::New(env, kVzBindingVersion));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("createMachine", Napi::Function::New(env, CreateMachine, "createMachine"));
  return exports;
}

}  // namespace
}  // namespace bento::vz

// NODE_API_MODULE pastes its argument into a name, so it needs a plain identifier.
static Napi::Object InitBentoVz(Napi::Env env, Napi::Object exports) {
  return bento::vz::Init(env, exports);
}

NODE_API_MODULE(bento_vz, InitBentoVz)
