import { z } from 'zod';
import { BentoError } from '../../errors.js';
import type { VmFiles } from '../../paths.js';
import type { VmSpec } from '../../types.js';
import type { VzFeatures } from './binding.js';

/** The kernel command line a vz VM gets when the spec has none: vz's console is virtio (hvc0). */
export const VZ_DEFAULT_CMDLINE = 'console=hvc0';

const diskSchema = z.strictObject({
  path: z.string().min(1),
  readOnly: z.boolean(),
  /** VZDiskImageCachingModeCached + VZDiskImageSynchronizationModeFull (macOS 12+). */
  cachedFullSync: z.boolean(),
});

/** The native configuration, exactly what createMachine() takes; the C++ side checks it again. */
export const vzConfigSchema = z.strictObject({
  cpus: z.number().int().min(1),
  memoryBytes: z.number().int().positive(),
  boot: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('linux'), kernel: z.string().min(1), initrd: z.string().min(1).nullable(), cmdline: z.string() }),
    z.strictObject({ kind: z.literal('efi'), variableStore: z.string().min(1) }),
  ]),
  /** File keeping VZGenericMachineIdentifier's data (macOS 13+), so the guest sees the same machine. */
  machineIdentifier: z.string().min(1).nullable(),
  disks: z.array(diskSchema),
  iso: z.strictObject({ path: z.string().min(1), usb: z.boolean() }).nullable(),
  network: z.strictObject({ mac: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/) }).nullable(),
  entropy: z.boolean(),
  balloon: z.boolean(),
  shares: z.array(z.strictObject({ tag: z.string().min(1), path: z.string().min(1), readOnly: z.boolean() })),
});

/** The configuration the vz addon builds a VZVirtualMachineConfiguration from. */
export type VzConfig = z.infer<typeof vzConfigSchema>;

/** What the configuration depends on besides the spec. */
export interface VzBuildHost {
  macos: string;
  features: VzFeatures;
  limits: { maxCpus: number; maxMemoryBytes: number };
}

/**
 * Turns a VM spec into the native configuration for this macOS: pure, so what each spec becomes is
 * pinned by tests. Anything the running macOS cannot do is an error naming the version it needs,
 * never a silently dropped device.
 */
export function buildVzConfig(spec: VmSpec, files: Pick<VmFiles, 'efiVars' | 'vzMachineId'>, host: VzBuildHost): VzConfig {
  const f = host.features;
  const qcow = spec.disks.filter((d) => d.format !== 'raw');
  if (qcow.length > 0) {
    throw new BentoError('invalid-input', `disk ${qcow[0]?.path} is ${qcow[0]?.format}; the vz backend takes raw images only`, {
      fields: [{ field: 'disk', message: 'must be a raw image for the vz backend' }],
    });
  }
  if (spec.cpus > host.limits.maxCpus) {
    throw new BentoError('start-failed', `start-failed: ${spec.cpus} CPUs is more than Virtualization.framework allows here (${host.limits.maxCpus})`);
  }
  const memoryBytes = spec.memoryMiB * 1024 * 1024;
  if (memoryBytes > host.limits.maxMemoryBytes) {
    throw new BentoError('start-failed', `start-failed: ${spec.memoryMiB} MiB is more memory than Virtualization.framework allows here`);
  }
  if (spec.kernel === null && !f.efi) {
    throw new BentoError(
      'unsupported',
      `booting a vz VM from a disk or ISO needs the EFI boot loader of macOS 13 or later (this Mac runs ${host.macos}); give it a kernel instead`,
    );
  }
  if (spec.mounts.length && !f.virtiofs) {
    throw new BentoError('unsupported', `shared folders on vz need virtio-fs, which Virtualization.framework has from macOS 12 (this Mac runs ${host.macos}); remove the VM's mounts`);
  }
  const boot: VzConfig['boot'] =
    spec.kernel !== null
      ? { kind: 'linux', kernel: spec.kernel, initrd: spec.initrd, cmdline: spec.cmdline ?? VZ_DEFAULT_CMDLINE }
      : { kind: 'efi', variableStore: files.efiVars };
  return {
    cpus: spec.cpus,
    memoryBytes,
    boot,
    machineIdentifier: f.efi ? files.vzMachineId : null,
    // Cached + full sync: with the framework's default modes a guest filesystem was seen corrupted.
    disks: spec.disks.map((d) => ({ path: d.path, readOnly: d.readonly, cachedFullSync: f.diskCaching })),
    // An installer ISO shows up as a USB stick where macOS has USB storage (13+), else as read-only virtio.
    iso: spec.iso === null ? null : { path: spec.iso, usb: f.usbStorage },
    network: { mac: spec.mac },
    entropy: true,
    balloon: true,
    // virtio-fs is built into Virtualization.framework (macOS 12+): one device per share, read-only
    // enforced by the framework (VZSharedDirectory readOnly).
    shares: spec.mounts.map((m) => ({ tag: m.tag, path: m.source, readOnly: m.readonly })),
  };
}
