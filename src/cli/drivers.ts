// bentod's drivers and what validation learns from them; kept apart from bentod.ts so tests can
// check the composition itself (which backends a host offers, and why not).
import { findOnPath } from '../vm/host.js';
import { QemuDriver, detectDiskFormat } from '../vm/drivers/qemu/driver.js';
import { SERIAL_LOG_CAP } from '../vm/runtime.js';
import { sniffDiskFormat } from '../vm/drivers/vz/disk.js';
import { VzDriver, type VzDriverOptions } from '../vm/drivers/vz/driver.js';
import type { Driver } from '../vm/drivers/driver.js';
import type { HostFacts } from '../vm/spec.js';
import type { Backend, DiskFormat, LocalBackend } from '../vm/types.js';

/** Every backend bentod knows, keyed by name. */
export type Drivers = Record<LocalBackend, Driver>;

/**
 * Both drivers, always: a backend that cannot run here stays registered so that asking for it gets
 * its reason (vz on Linux: "needs macOS"), not a bare "unknown backend".
 */
export function makeDrivers(home: string, vz: Partial<VzDriverOptions> = {}): Drivers {
  return { qemu: new QemuDriver(serialLogCap()), vz: new VzDriver({ home, ...vz }) };
}

/** The host facts validation uses, plus each backend's availability (a field error on `backend`). */
export function withBackends(host: HostFacts, drivers: Drivers): HostFacts {
  return {
    ...host,
    backendUnavailable(backend) {
      // libvirt VMs are made by their hosts (validation refuses the backend for local VMs before this).
      if (backend === 'libvirt') return 'VMs on libvirt hosts are named HOST/NAME';
      const a = drivers[backend].availability();
      return a.ok ? null : a.reason;
    },
  };
}

/** The backends that can run VMs here, for /api/version (qemu is listed even when missing, as before). */
export function offeredBackends(drivers: Drivers): Backend[] {
  return drivers.vz.availability().ok ? ['qemu', 'vz'] : ['qemu'];
}

/** Disk format detection: qemu-img when installed, else the image's magic (a Mac with only vz). */
export function detectFormat(file: string): DiskFormat | Promise<DiskFormat> {
  return findOnPath('qemu-img') ? detectDiskFormat(file) : sniffDiskFormat(file);
}

/**
 * The size at which a running VM's serial log is rotated: 16 MiB, or BENTO_SERIAL_LOG_CAP bytes
 * (at least 4096; tests use a small cap to see rotation happen).
 */
export function serialLogCap(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.BENTO_SERIAL_LOG_CAP);
  return Number.isSafeInteger(v) && v >= 4096 ? v : SERIAL_LOG_CAP;
}
