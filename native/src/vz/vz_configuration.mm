// The VZVirtualMachineConfiguration builder: the parsed config (vz_config.h) to Virtualization.framework
// objects, every macOS-version-dependent part behind @available, validated with validateWithError:.
#import "vz_objc.h"

namespace bento::vz {

namespace {

NSURL* FileURL(const std::string& path) {
  NSString* s = NSStr(path);
  return s ? [NSURL fileURLWithPath:s] : nil;
}

// The disk attachment a disk entry asks for; nil with *error filled on failure.
VZDiskImageStorageDeviceAttachment* DiskAttachment(const std::string& path, bool readOnly, bool cachedFullSync,
                                                    const std::string& what, ErrorInfo* error) {
  NSURL* url = FileURL(path);
  if (url == nil) {
    *error = ErrorInfo::Simple("config", what + ": path is not valid UTF-8");
    return nil;
  }
  NSError* nsError = nil;
  VZDiskImageStorageDeviceAttachment* attachment = nil;
  if (cachedFullSync) {
    if (@available(macOS 12, *)) {
      // Cached + full sync: with the defaults a guest filesystem was seen corrupted.
      attachment = [[VZDiskImageStorageDeviceAttachment alloc] initWithURL:url
                                                                   readOnly:readOnly
                                                                cachingMode:VZDiskImageCachingModeCached
                                                        synchronizationMode:VZDiskImageSynchronizationModeFull
                                                                      error:&nsError];
    } else {
      *error = ErrorInfo::Simple("unsupported", what + ": disk caching and synchronization modes need macOS 12");
      return nil;
    }
  } else {
    attachment = [[VZDiskImageStorageDeviceAttachment alloc] initWithURL:url readOnly:readOnly error:&nsError];
  }
  if (attachment == nil) *error = InfoFromNSError(nsError, what + " " + path);
  return attachment;
}

// The EFI boot loader with its variable store (created on first boot); macOS 13+.
VZBootLoader* EfiBootLoader(const EfiBoot& efi, ErrorInfo* error) API_AVAILABLE(macos(13.0)) {
  NSURL* url = FileURL(efi.variableStore);
  if (url == nil) {
    *error = ErrorInfo::Simple("config", "boot.variableStore is not valid UTF-8");
    return nil;
  }
  VZEFIVariableStore* store = nil;
  // The string the URL was built from: NSURL.path is nullable, fileExistsAtPath: takes non-null.
  if ([[NSFileManager defaultManager] fileExistsAtPath:NSStr(efi.variableStore)]) {
    store = [[VZEFIVariableStore alloc] initWithURL:url];
  } else {
    NSError* nsError = nil;
    store = [[VZEFIVariableStore alloc] initCreatingVariableStoreAtURL:url
                                                               options:(VZEFIVariableStoreInitializationOptions)0
                                                                 error:&nsError];
    if (store == nil) {
      *error = InfoFromNSError(nsError, "cannot create the EFI variable store " + efi.variableStore);
      return nil;
    }
  }
  VZEFIBootLoader* loader = [[VZEFIBootLoader alloc] init];
  loader.variableStore = store;
  return loader;
}

// A generic platform whose machine identifier persists in `path`, so the guest sees the same
// machine on every boot; macOS 13+.
VZGenericPlatformConfiguration* Platform(const std::string& path, ErrorInfo* error) API_AVAILABLE(macos(13.0)) {
  NSURL* url = FileURL(path);
  if (url == nil) {
    *error = ErrorInfo::Simple("config", "machineIdentifier is not valid UTF-8");
    return nil;
  }
  VZGenericMachineIdentifier* identifier = nil;
  NSData* data = [NSData dataWithContentsOfURL:url];
  if (data != nil) identifier = [[VZGenericMachineIdentifier alloc] initWithDataRepresentation:data];
  if (identifier == nil) {
    // First boot, or an unreadable file: a new identity, kept for next time.
    identifier = [[VZGenericMachineIdentifier alloc] init];
    NSError* nsError = nil;
    if (![identifier.dataRepresentation writeToURL:url options:NSDataWritingAtomic error:&nsError]) {
      *error = InfoFromNSError(nsError, "cannot write the machine identifier " + path);
      return nil;
    }
  }
  VZGenericPlatformConfiguration* platform = [[VZGenericPlatformConfiguration alloc] init];
  platform.machineIdentifier = identifier;
  return platform;
}

VZVirtualMachineConfiguration* Build(const Config& c, ConsolePipes* pipes, ErrorInfo* error) {
  VZVirtualMachineConfiguration* config = [[VZVirtualMachineConfiguration alloc] init];
  config.CPUCount = c.cpus;
  config.memorySize = c.memoryBytes;

  if (c.linuxBoot) {
    NSURL* kernel = FileURL(c.linuxBoot->kernel);
    if (kernel == nil) {
      *error = ErrorInfo::Simple("config", "boot.kernel is not valid UTF-8");
      return nil;
    }
    VZLinuxBootLoader* loader = [[VZLinuxBootLoader alloc] initWithKernelURL:kernel];
    if (c.linuxBoot->initrd) {
      NSURL* initrd = FileURL(*c.linuxBoot->initrd);
      if (initrd == nil) {
        *error = ErrorInfo::Simple("config", "boot.initrd is not valid UTF-8");
        return nil;
      }
      loader.initialRamdiskURL = initrd;
    }
    NSString* cmdline = NSStr(c.linuxBoot->cmdline);
    if (cmdline == nil) {
      *error = ErrorInfo::Simple("config", "boot.cmdline is not valid UTF-8");
      return nil;
    }
    loader.commandLine = cmdline;
    config.bootLoader = loader;
  } else if (c.efiBoot) {
    if (@available(macOS 13, *)) {
      VZBootLoader* loader = EfiBootLoader(*c.efiBoot, error);
      if (loader == nil) return nil;
      config.bootLoader = loader;
    } else {
      *error = ErrorInfo::Simple("unsupported", "the EFI boot loader needs macOS 13 or later; boot a kernel instead");
      return nil;
    }
  } else {
    *error = ErrorInfo::Simple("config", "boot must be linux or efi");
    return nil;
  }

  if (c.machineIdentifier) {
    if (@available(macOS 13, *)) {
      VZGenericPlatformConfiguration* platform = Platform(*c.machineIdentifier, error);
      if (platform == nil) return nil;
      config.platform = platform;
    } else {
      *error = ErrorInfo::Simple("unsupported", "a persistent machine identifier needs macOS 13 or later");
      return nil;
    }
  }

  NSMutableArray<VZStorageDeviceConfiguration*>* storage = [NSMutableArray array];
  for (size_t i = 0; i < c.disks.size(); i++) {
    const Disk& d = c.disks[i];
    VZDiskImageStorageDeviceAttachment* a = DiskAttachment(d.path, d.readOnly, d.cachedFullSync, "disk", error);
    if (a == nil) return nil;
    [storage addObject:[[VZVirtioBlockDeviceConfiguration alloc] initWithAttachment:a]];
  }
  if (c.iso) {
    VZDiskImageStorageDeviceAttachment* a = DiskAttachment(c.iso->path, /*readOnly=*/true, /*cachedFullSync=*/false, "iso", error);
    if (a == nil) return nil;
    if (c.iso->usb) {
      if (@available(macOS 13, *)) {
        [storage addObject:[[VZUSBMassStorageDeviceConfiguration alloc] initWithAttachment:a]];
      } else {
        *error = ErrorInfo::Simple("unsupported", "an ISO as USB storage needs macOS 13 or later");
        return nil;
      }
    } else {
      [storage addObject:[[VZVirtioBlockDeviceConfiguration alloc] initWithAttachment:a]];
    }
  }
  config.storageDevices = storage;

  if (c.mac) {
    NSString* macString = NSStr(*c.mac);
    VZMACAddress* mac = macString ? [[VZMACAddress alloc] initWithString:macString] : nil;
    if (mac == nil) {
      *error = ErrorInfo::Simple("config", "network.mac " + *c.mac + " is not a MAC address");
      return nil;
    }
    VZVirtioNetworkDeviceConfiguration* net = [[VZVirtioNetworkDeviceConfiguration alloc] init];
    net.attachment = [[VZNATNetworkDeviceAttachment alloc] init];
    net.MACAddress = mac;
    config.networkDevices = @[ net ];
  }

  // The console: a virtio console port (hvc0 in the guest) on the pipe pair. The file handles close
  // their descriptors when the VM lets go of them.
  // Marked first: should anything below raise, a leaked descriptor beats one closed twice.
  pipes->guestAdopted = true;
  NSFileHandle* guestRead = [[NSFileHandle alloc] initWithFileDescriptor:pipes->guestRead closeOnDealloc:YES];
  NSFileHandle* guestWrite = [[NSFileHandle alloc] initWithFileDescriptor:pipes->guestWrite closeOnDealloc:YES];
  VZVirtioConsoleDeviceSerialPortConfiguration* port = [[VZVirtioConsoleDeviceSerialPortConfiguration alloc] init];
  port.attachment = [[VZFileHandleSerialPortAttachment alloc] initWithFileHandleForReading:guestRead
                                                                       fileHandleForWriting:guestWrite];
  config.serialPorts = @[ port ];

  if (c.entropy) config.entropyDevices = @[ [[VZVirtioEntropyDeviceConfiguration alloc] init] ];
  if (c.balloon) config.memoryBalloonDevices = @[ [[VZVirtioTraditionalMemoryBalloonDeviceConfiguration alloc] init] ];

  if (!c.shares.empty()) {
    if (@available(macOS 12, *)) {
      NSMutableArray<VZDirectorySharingDeviceConfiguration*>* devices = [NSMutableArray array];
      for (const Share& s : c.shares) {
        NSString* tag = NSStr(s.tag);
        NSURL* url = FileURL(s.path);
        if (tag == nil || url == nil) {
          *error = ErrorInfo::Simple("config", "share " + s.tag + ": tag and path must be valid UTF-8");
          return nil;
        }
        NSError* nsError = nil;
        if (![VZVirtioFileSystemDeviceConfiguration validateTag:tag error:&nsError]) {
          *error = InfoFromNSError(nsError, "share tag " + s.tag);
          return nil;
        }
        VZVirtioFileSystemDeviceConfiguration* fs = [[VZVirtioFileSystemDeviceConfiguration alloc] initWithTag:tag];
        VZSharedDirectory* dir = [[VZSharedDirectory alloc] initWithURL:url readOnly:s.readOnly];
        fs.share = [[VZSingleDirectoryShare alloc] initWithDirectory:dir];
        [devices addObject:fs];
      }
      config.directorySharingDevices = devices;
    } else {
      *error = ErrorInfo::Simple("unsupported", "shared directories (virtiofs) need macOS 12 or later");
      return nil;
    }
  }

  NSError* nsError = nil;
  if (![config validateWithError:&nsError]) {
    // Among others, this is where a node without com.apple.security.virtualization is refused.
    *error = InfoFromNSError(nsError);
    return nil;
  }
  return config;
}

}  // namespace

VZVirtualMachineConfiguration* BuildConfiguration(const Config& config, ConsolePipes* pipes, ErrorInfo* error) {
  @try {
    return Build(config, pipes, error);
  } @catch (NSException* exception) {
    *error = InfoFromNSException(exception, "building the VM configuration");
    return nil;
  }
}

}  // namespace bento::vz
