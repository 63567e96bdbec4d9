import { describe, expect, it } from 'vitest';
import { BentoError } from '../../errors.js';
import type { VmSpec } from '../../types.js';
import type { VzFeatures } from './binding.js';
import { buildVzConfig, vzConfigSchema, type VzBuildHost } from './config.js';

const files = { efiVars: '/vms/a/efi-vars.fd', vzMachineId: '/vms/a/vz-machine-id' };
const spec: VmSpec = {
  name: 'a', backend: 'vz', cpus: 2, memoryMiB: 1024, accel: 'auto', kernel: null, initrd: null, cmdline: null,
  disks: [], iso: null, mac: '52:54:00:12:34:56', console: 'serial', createdAt: '2024-01-01T00:00:00.000Z',
  image: null, firmware: 'bios', network: 'nat', publish: [], cloudInit: null, mounts: [],
};
const all: VzFeatures = { stop: true, diskCaching: true, virtiofs: true, efi: true, usbStorage: true, saveRestore: true };
function host(major: number, over: Partial<VzFeatures> = {}): VzBuildHost {
  const f: VzFeatures = { stop: major >= 12, diskCaching: major >= 12, virtiofs: major >= 12, efi: major >= 13, usbStorage: major >= 13, saveRestore: major >= 14 };
  return { macos: `${major}.0`, features: { ...f, ...over }, limits: { maxCpus: 8, maxMemoryBytes: 8 * 1024 ** 3 } };
}
const raw = (path: string) => ({ path, format: 'raw' as const, owned: false, readonly: false });

describe('buildVzConfig', () => {
  it('boots a kernel with the Linux boot loader and the virtio console on hvc0 by default', () => {
    const c = buildVzConfig({ ...spec, kernel: '/k/vmlinuz', initrd: '/k/initrd' }, files, { ...host(14), features: all });
    expect(c).toEqual({
      cpus: 2,
      memoryBytes: 1024 * 1024 * 1024,
      boot: { kind: 'linux', kernel: '/k/vmlinuz', initrd: '/k/initrd', cmdline: 'console=hvc0' },
      machineIdentifier: '/vms/a/vz-machine-id',
      disks: [],
      iso: null,
      network: { mac: '52:54:00:12:34:56' },
      entropy: true,
      balloon: true,
      shares: [],
    });
    expect(vzConfigSchema.safeParse(c).success).toBe(true);
  });

  it("keeps the user's command line as given", () => {
    const c = buildVzConfig({ ...spec, kernel: '/k', cmdline: 'console=hvc0 root=/dev/vda' }, files, host(14));
    expect(c.boot).toEqual({ kind: 'linux', kernel: '/k', initrd: null, cmdline: 'console=hvc0 root=/dev/vda' });
  });

  it('boots a disk and an installer ISO with EFI, the ISO as USB storage, disks cached with full sync (macOS 13+)', () => {
    const c = buildVzConfig({ ...spec, disks: [raw('/d/disk.img')], iso: '/i/debian.iso' }, files, host(13));
    expect(c.boot).toEqual({ kind: 'efi', variableStore: '/vms/a/efi-vars.fd' });
    expect(c.machineIdentifier).toBe('/vms/a/vz-machine-id');
    expect(c.disks).toEqual([{ path: '/d/disk.img', readOnly: false, cachedFullSync: true }]);
    expect(c.iso).toEqual({ path: '/i/debian.iso', usb: true });
  });

  it('on macOS 12: the ISO becomes a read-only virtio disk, and there is no machine identifier', () => {
    const c = buildVzConfig({ ...spec, kernel: '/k', iso: '/i/x.iso', disks: [{ ...raw('/d/r.img'), readonly: true }] }, files, host(12));
    expect(c.iso).toEqual({ path: '/i/x.iso', usb: false });
    expect(c.machineIdentifier).toBeNull();
    expect(c.disks).toEqual([{ path: '/d/r.img', readOnly: true, cachedFullSync: true }]);
  });

  it('on macOS 11: default disk caching (the modes need 12), kernel boot still works', () => {
    const c = buildVzConfig({ ...spec, kernel: '/k', disks: [raw('/d/r.img')] }, files, host(11));
    expect(c.disks).toEqual([{ path: '/d/r.img', readOnly: false, cachedFullSync: false }]);
  });

  it('refuses disk boot before macOS 13, naming the version it needs', () => {
    expect(() => buildVzConfig({ ...spec, disks: [raw('/d/r.img')] }, files, host(12))).toThrow(/EFI boot loader of macOS 13 or later \(this Mac runs 12\.0\)/);
  });

  it('refuses a qcow2 disk with a field error', () => {
    try {
      buildVzConfig({ ...spec, kernel: '/k', disks: [{ ...raw('/d/x.qcow2'), format: 'qcow2' }] }, files, host(14));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BentoError);
      expect((err as BentoError).fields).toEqual([{ field: 'disk', message: 'must be a raw image for the vz backend' }]);
    }
  });

  it('refuses more CPUs or memory than the framework allows', () => {
    expect(() => buildVzConfig({ ...spec, kernel: '/k', cpus: 9 }, files, host(14))).toThrow(/9 CPUs is more than .* allows here \(8\)/);
    expect(() => buildVzConfig({ ...spec, kernel: '/k', memoryMiB: 9 * 1024 }, files, host(14))).toThrow(/more memory than/);
  });
});

describe('buildVzConfig shares', () => {
  const mounts: VmSpec['mounts'] = [
    { source: '/Users/u/src', target: '/mnt/src', readonly: false, tag: 'bento0', type: 'virtiofs' },
    { source: '/Users/u/data', target: '/data', readonly: true, tag: 'bento1', type: 'virtiofs' },
  ];

  it('passes each mount as a virtio-fs share with its tag, folder and read-only flag', () => {
    const c = buildVzConfig({ ...spec, kernel: '/k', mounts }, files, host(14));
    expect(c.shares).toEqual([
      { tag: 'bento0', path: '/Users/u/src', readOnly: false },
      { tag: 'bento1', path: '/Users/u/data', readOnly: true },
    ]);
    expect(vzConfigSchema.safeParse(c).success).toBe(true);
  });

  it('refuses shares where the framework has no virtio-fs (macOS 11)', () => {
    expect(() => buildVzConfig({ ...spec, kernel: '/k', mounts }, files, host(11))).toThrow(/macOS 12/);
  });
});
