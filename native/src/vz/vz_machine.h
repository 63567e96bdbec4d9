// One VZVirtualMachine as a JS object: every call runs on the VM's own serial dispatch queue and
// answers with a promise settled on the JS thread; KVO on `state` and the delegate's stop callbacks
// reach JS through the same ThreadSafeFunction. macOS only (Objective-C++, ARC).
#pragma once

#import <Foundation/Foundation.h>
#import <Virtualization/Virtualization.h>

#include <napi.h>

#include <memory>
#include <string>

#include "vz_common.h"

// Observes `state` (KVO) and is the VM's delegate; the VM holds its delegate weakly, so VzMachine
// keeps this object alive until teardown.
@interface BentoVzObserver : NSObject <VZVirtualMachineDelegate>
- (instancetype)initWithChannel:(std::shared_ptr<bento::vz::Channel>)channel;
@end

namespace bento::vz {

// The KVO context that tells our `state` observation from anyone else's.
extern void* const kStateContext;

class VzMachine : public Napi::ObjectWrap<VzMachine> {
 public:
  // What createMachine prepared before the JS object existed (so the constructor cannot fail).
  struct Parts {
    VZVirtualMachine* vm = nil;
    VZVirtualMachineConfiguration* configuration = nil;
    dispatch_queue_t queue = nil;
    BentoVzObserver* observer = nil;
    std::shared_ptr<Channel> channel;
  };

  // The JS class; createMachine() is the only way to get a usable instance.
  static Napi::Function Define(Napi::Env env);

  explicit VzMachine(const Napi::CallbackInfo& info);
  ~VzMachine() override;

  // Takes over the VM and its queue, observer and channel.
  void Adopt(Parts parts);

 private:
  using Body = void (^)(VZVirtualMachine* vm, std::shared_ptr<Settle> settle);

  // Runs `body` on the VM's queue and returns the promise it settles; NSExceptions reject it.
  Napi::Value Run(const Napi::CallbackInfo& info, const std::string& op, Body body);

  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Pause(const Napi::CallbackInfo& info);
  Napi::Value Resume(const Napi::CallbackInfo& info);
  Napi::Value RequestStop(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value Restore(const Napi::CallbackInfo& info);
  Napi::Value Status(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  // Unregisters KVO and the delegate on the queue, then closes the channel (releasing the TSFN).
  void Teardown();

  Parts parts_;
  bool disposed_ = false;
};

}  // namespace bento::vz
