// See domain.h.
#include "domain.h"

#include <libvirt/virterror.h>

#include <cstdlib>

#include "errors.h"

namespace bento::lv {

DomainData ReadDomain(virDomainPtr dom) {
  DomainData d;
  char uuid[VIR_UUID_STRING_BUFLEN];
  if (virDomainGetUUIDString(dom, uuid) < 0) Fail("virDomainGetUUIDString");
  d.uuid = uuid;
  const char* name = virDomainGetName(dom);
  if (name == nullptr) Fail("virDomainGetName");
  d.name = name;
  // (unsigned)-1 for an inactive domain: shown to JS as -1.
  const unsigned int id = virDomainGetID(dom);
  d.id = id == static_cast<unsigned int>(-1) ? -1 : static_cast<long long>(id);
  if (virDomainGetState(dom, &d.state, &d.reason, 0) < 0) Fail("virDomainGetState");
  virDomainInfo info;
  if (virDomainGetInfo(dom, &info) < 0) Fail("virDomainGetInfo");
  d.maxMemKiB = info.maxMem;
  d.memKiB = info.memory;
  d.vcpus = info.nrVirtCpu;
  d.cpuTimeNs = info.cpuTime;
  const int persistent = virDomainIsPersistent(dom);
  if (persistent < 0) Fail("virDomainIsPersistent");
  d.persistent = persistent == 1;
  int autostart = 0;
  if (virDomainGetAutostart(dom, &autostart) < 0) {
    // Drivers without autostart (and transient domains on some) say so; that is "no autostart".
    ErrorInfo e = LastError("virDomainGetAutostart");
    if (e.code != VIR_ERR_NO_SUPPORT && e.code != VIR_ERR_OPERATION_INVALID) throw Failure{e};
    autostart = 0;
  }
  d.autostart = autostart != 0;
  char* metadata = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, kBentoXmlns, VIR_DOMAIN_AFFECT_CURRENT);
  if (metadata != nullptr) {
    d.metadata = std::string(metadata);
    std::free(metadata);
  } else {
    // No bento element (a domain bento did not define), or a driver without metadata: null.
    ErrorInfo e = LastError("virDomainGetMetadata");
    if (e.code != VIR_ERR_NO_DOMAIN_METADATA && e.code != VIR_ERR_NO_SUPPORT && e.code != VIR_ERR_ARGUMENT_UNSUPPORTED) {
      throw Failure{e};
    }
  }
  return d;
}

Napi::Object DomainToJs(Napi::Env env, const DomainData& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("uuid", Napi::String::New(env, d.uuid));
  o.Set("name", Napi::String::New(env, d.name));
  o.Set("id", Napi::Number::New(env, static_cast<double>(d.id)));
  o.Set("state", Napi::Number::New(env, d.state));
  o.Set("reason", Napi::Number::New(env, d.reason));
  // Doubles: exact up to 2^53 (8 PiB of memory, 104 days of CPU time in ns).
  o.Set("maxMemKiB", Napi::Number::New(env, static_cast<double>(d.maxMemKiB)));
  o.Set("memKiB", Napi::Number::New(env, static_cast<double>(d.memKiB)));
  o.Set("vcpus", Napi::Number::New(env, d.vcpus));
  o.Set("cpuTimeNs", Napi::Number::New(env, static_cast<double>(d.cpuTimeNs)));
  o.Set("persistent", Napi::Boolean::New(env, d.persistent));
  o.Set("autostart", Napi::Boolean::New(env, d.autostart));
  o.Set("metadata", d.metadata ? Napi::Value(Napi::String::New(env, *d.metadata)) : env.Null());
  return o;
}

virDomainPtr LookupUuid(virConnectPtr conn, const std::string& uuid) {
  virDomainPtr dom = virDomainLookupByUUIDString(conn, uuid.c_str());
  if (dom == nullptr) Fail("virDomainLookupByUUIDString");
  return dom;
}

}  // namespace bento::lv
