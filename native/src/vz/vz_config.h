// The VM configuration as plain C++ values, parsed from the object JS passes to createMachine()
// (src/vm/drivers/vz/config.ts, VzConfig). Parsing checks every field and throws a TypeError naming
// it, so nothing unchecked reaches Virtualization.framework. Plain C++: compiles off macOS too.
#pragma once

#include <napi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bento::vz {

struct LinuxBoot {
  std::string kernel;
  std::optional<std::string> initrd;
  std::string cmdline;
};

struct EfiBoot {
  std::string variableStore;  // created when missing
};

struct Disk {
  std::string path;
  bool readOnly = false;
  bool cachedFullSync = false;  // VZDiskImageCachingModeCached + VZDiskImageSynchronizationModeFull
};

struct Iso {
  std::string path;
  bool usb = false;  // USB mass storage (macOS 13+), else a read-only virtio block device
};

struct Share {
  std::string tag;
  std::string path;
  bool readOnly = false;
};

struct Config {
  uint32_t cpus = 1;
  uint64_t memoryBytes = 0;
  std::optional<LinuxBoot> linuxBoot;
  std::optional<EfiBoot> efiBoot;
  std::optional<std::string> machineIdentifier;  // file holding VZGenericMachineIdentifier data
  std::vector<Disk> disks;
  std::optional<Iso> iso;
  std::optional<std::string> mac;  // NAT network device with this MAC; none when absent
  bool entropy = false;
  bool balloon = false;
  std::vector<Share> shares;
};

// Parses and checks the configuration object; throws Napi::TypeError naming the bad field.
Config ParseConfig(Napi::Env env, Napi::Value value);

}  // namespace bento::vz
