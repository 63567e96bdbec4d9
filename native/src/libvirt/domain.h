// A domain's figures (DomainInfo in src/vm/drivers/libvirt/binding.ts), read on a job's thread into
// plain data and turned into a JS object on the JS thread.
#pragma once

#include <libvirt/libvirt.h>
#include <napi.h>

#include <optional>
#include <string>

namespace bento::lv {

// The XML namespace of bento's <metadata> element (BENTO_XMLNS in binding.ts).
constexpr const char* kBentoXmlns = "urn:bento:vm:1";

struct DomainData {
  std::string uuid;
  std::string name;
  long long id = -1;
  int state = 0;
  int reason = 0;
  unsigned long long maxMemKiB = 0;
  unsigned long long memKiB = 0;
  unsigned int vcpus = 0;
  unsigned long long cpuTimeNs = 0;
  bool persistent = false;
  bool autostart = false;
  std::optional<std::string> metadata;
};

// Reads every field; throws Failure with libvirt's error when a call fails (a domain that vanished
// meanwhile gives VIR_ERR_NO_DOMAIN).
DomainData ReadDomain(virDomainPtr dom);

Napi::Object DomainToJs(Napi::Env env, const DomainData& data);

// Owns a virDomainPtr: virDomainFree on scope exit. Take the error (LastError) before it goes out of
// scope, since virDomainFree resets the thread's last error.
class DomainRef {
 public:
  explicit DomainRef(virDomainPtr dom) : dom_(dom) {}
  DomainRef(const DomainRef&) = delete;
  DomainRef& operator=(const DomainRef&) = delete;
  ~DomainRef() {
    if (dom_ != nullptr) virDomainFree(dom_);
  }
  virDomainPtr get() const { return dom_; }

 private:
  virDomainPtr dom_;
};

// virDomainLookupByUUIDString; throws Failure (VIR_ERR_NO_DOMAIN when there is none).
virDomainPtr LookupUuid(virConnectPtr conn, const std::string& uuid);

}  // namespace bento::lv
