import { BentoError } from '../../errors.js';
import type { VmSpec } from '../../types.js';

/** The qdev id of every QEMU VM's balloon device; its QOM path is BALLOON_QOM_PATH. */
export const BALLOON_ID = 'balloon0';

/** Where QMP qom-get/qom-set find the balloon (its guest-stats and polling interval). */
export const BALLOON_QOM_PATH = `/machine/peripheral/${BALLOON_ID}`;

/** Where a VM's runtime files live; built from paths.vmFiles. */
export interface QemuFiles {
  pid: string;
  qmp: string;
  serialSocket: string;
  consoleSocket: string;
}

/** What a run adds to the spec: the SSH port chosen at start, the UEFI firmware found on this host, the seed. */
export interface QemuRunOptions {
  /** Host port on 127.0.0.1 forwarded to the guest's port 22, or null for none. */
  sshPort?: number | null;
  /** UEFI firmware code (read-only) and this VM's own variable store, when spec.firmware is uefi. */
  uefi?: { code: string; vars: string } | null;
  /** The cloud-init NoCloud seed volume, when the VM has one. */
  seed?: string | null;
  /** Resume from a saved state: qemu waits for `migrate-incoming` instead of booting. */
  incoming?: boolean;
  /** The vhost-user socket of each virtio-fs share, by its index in spec.mounts (its virtiofsd listens there). */
  fsSockets?: Record<number, string>;
}

/** Host facts the command line depends on. */
export interface QemuHost {
  arch: 'x64' | 'arm64';
}

/** A full qemu invocation. */
export interface QemuCommand {
  binary: string;
  args: string[];
}

/** The qemu system emulator for guests of the host's own architecture. */
export function qemuBinary(host: QemuHost): string {
  return host.arch === 'arm64' ? 'qemu-system-aarch64' : 'qemu-system-x86_64';
}

/** QEMU option values separate keys with commas; a literal comma is written twice. */
export function qemuEscape(value: string): string {
  return value.replaceAll(',', ',,');
}

function kv(parts: Record<string, string | number | boolean | undefined>): string {
  return Object.entries(parts)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (v === true ? `${k}=on` : v === false ? `${k}=off` : `${k}=${qemuEscape(String(v))}`))
    .join(',');
}

/** The kernel console argument bento adds when the user gave no command line. */
export function defaultCmdline(spec: Pick<VmSpec, 'console'>, host: QemuHost): string {
  if (spec.console === 'virtio') return 'console=hvc0';
  return host.arch === 'arm64' ? 'console=ttyAMA0' : 'console=ttyS0';
}

/**
 * Builds the qemu command line for a VM: a pure function of the spec, the files and the accelerator,
 * covered by golden tests. Every drive names its format. qemu runs under bento-vmm (its parent, which
 * outlives bentod), and its chardevs have no `logfile`: QEMU's logfile duplicates characters under load,
 * so bento-vmm writes the log from the socket stream instead.
 */
export function buildQemuCommand(spec: VmSpec, files: QemuFiles, accel: 'kvm' | 'hvf' | 'tcg', host: QemuHost, run: QemuRunOptions = {}): QemuCommand {
  const arm = host.arch === 'arm64';
  const args: string[] = [
    '-name', kv({ guest: spec.name }),
    // virtio-fs needs guest RAM the virtiofsd can map: a shared memfd backs it then.
    '-machine', `${arm ? 'virt' : 'q35'}${hasVirtiofs(spec) ? ',memory-backend=mem' : ''}`,
    ...(hasVirtiofs(spec) ? ['-object', `memory-backend-memfd,${kv({ id: 'mem', size: `${spec.memoryMiB}M`, share: true })}`] : []),
    '-accel', accel,
    ...(accel === 'tcg' ? (arm ? ['-cpu', 'max'] : []) : ['-cpu', 'host']),
    '-smp', String(spec.cpus),
    '-m', `${spec.memoryMiB}M`,
    '-nodefaults',
    '-no-user-config',
    '-display', 'none',
    // Start paused: bentod connects QMP (and the console) first, then sends `cont`, so no event and
    // no byte of boot output is missed.
    '-S',
    '-pidfile', files.pid,
    '-chardev', `socket,${kv({ id: 'qmp', path: files.qmp, server: true, wait: false })}`,
    '-mon', 'chardev=qmp,mode=control',
    '-chardev', `socket,${kv({ id: 'serial0', path: files.serialSocket, server: true, wait: false })}`,
    '-serial', 'chardev:serial0',
  ];
  if (spec.console === 'virtio') {
    args.push(
      '-device', 'virtio-serial-pci,id=vser0',
      '-chardev', `socket,${kv({ id: 'console0', path: files.consoleSocket, server: true, wait: false })}`,
      '-device', 'virtconsole,chardev=console0,bus=vser0.0',
    );
  }
  if (spec.kernel) {
    args.push('-kernel', spec.kernel);
    if (spec.initrd) args.push('-initrd', spec.initrd);
    args.push('-append', spec.cmdline ?? defaultCmdline(spec, host));
  }
  if (run.uefi) {
    args.push(
      '-drive', kv({ if: 'pflash', format: 'raw', unit: 0, readonly: true, file: run.uefi.code }),
      '-drive', kv({ if: 'pflash', format: 'raw', unit: 1, file: run.uefi.vars }),
    );
  }
  // Direct kernel boot registers its own option ROM at bootindex 0; disks then come after it.
  let bootIndex = spec.kernel ? 1 : 0;
  if (spec.iso) {
    args.push('-drive', kv({ file: spec.iso, format: 'raw', if: 'none', id: 'cd0', media: 'cdrom', readonly: true }));
    args.push('-device', arm ? `virtio-blk-pci,drive=cd0,bootindex=${bootIndex++}` : `ide-cd,drive=cd0,bootindex=${bootIndex++}`);
  }
  spec.disks.forEach((disk, i) => {
    args.push(
      '-drive',
      kv({ file: disk.path, format: disk.format, if: 'none', id: `disk${i}`, cache: 'writeback', discard: 'unmap', readonly: disk.readonly || undefined }),
    );
    args.push('-device', `virtio-blk-pci,drive=disk${i},bootindex=${bootIndex++}`);
  });
  if (run.seed) {
    // Not bootable (no bootindex): cloud-init finds it by its `cidata` label. A virtio-scsi CD, not
    // ide-cd: cloud kernels (Debian's genericcloud among them) have no AHCI driver, so a CD on q35's
    // AHCI controller would be invisible to the guest.
    args.push('-drive', kv({ file: run.seed, format: 'raw', if: 'none', id: 'seed0', media: 'cdrom', readonly: true }));
    args.push('-device', 'virtio-scsi-pci,id=seedscsi', '-device', 'scsi-cd,drive=seed0,bus=seedscsi.0');
  }
  if (spec.network !== 'none') {
    args.push('-netdev', userNetdev(spec, run.sshPort ?? null));
    // romfile= skips the PXE option ROM: bento never netboots, and it saves boot time.
    args.push('-device', `virtio-net-pci,netdev=net0,mac=${spec.mac},romfile=`);
  }
  args.push(...shareArgs(spec, run));
  args.push('-device', 'virtio-rng-pci');
  // The balloon only lets the guest report its memory use (guest-stats); bento never inflates it.
  // deflate-on-oom: should anything ever inflate it, the guest takes pages back rather than OOM-kill.
  args.push('-device', `virtio-balloon-pci,id=${BALLOON_ID},deflate-on-oom=on`);
  // Last, so the device list above is the same for a save and for its restore. `defer`: bentod names
  // the stream's socket over QMP once it is ready to feed it.
  if (run.incoming) args.push('-incoming', 'defer');
  return { binary: qemuBinary(host), args };
}

function hasVirtiofs(spec: VmSpec): boolean {
  return spec.mounts.some((m) => m.type === 'virtiofs');
}

/**
 * The devices of the shared folders: 9p served by QEMU itself (security_model=none: files keep the
 * owner QEMU writes them as; readonly=on is enforced by QEMU, whatever the guest mounts), or
 * virtio-fs through the virtiofsd listening on the share's socket.
 */
export function shareArgs(spec: VmSpec, run: QemuRunOptions = {}): string[] {
  const args: string[] = [];
  spec.mounts.forEach((m, i) => {
    if (m.type === '9p') {
      // multidevs=remap: a share spanning several host filesystems keeps inode numbers unique (and QEMU quiet).
      args.push('-fsdev', `local,${kv({ id: `fsdev${i}`, path: m.source, security_model: 'none', multidevs: 'remap', readonly: m.readonly || undefined })}`);
      args.push('-device', `virtio-9p-pci,${kv({ fsdev: `fsdev${i}`, mount_tag: m.tag })}`);
      return;
    }
    const sock = run.fsSockets?.[i];
    if (!sock) throw new BentoError('internal', `mounts[${i}] is virtio-fs but no virtiofsd socket was given for it`);
    args.push('-chardev', `socket,${kv({ id: `fs${i}`, path: sock })}`);
    args.push('-device', `vhost-user-fs-pci,${kv({ chardev: `fs${i}`, tag: m.tag })}`);
  });
  return args;
}

/** The user-mode network: `restrict=on` for restricted (no traffic leaves the host), plus every forward. */
export function userNetdev(spec: Pick<VmSpec, 'network' | 'publish'>, sshPort: number | null): string {
  const parts = ['user', 'id=net0'];
  if (spec.network === 'restricted') parts.push('restrict=on');
  if (sshPort !== null) parts.push(`hostfwd=tcp:127.0.0.1:${sshPort}-:22`);
  for (const f of spec.publish) parts.push(`hostfwd=${hostfwdRule(f)}`);
  return parts.join(',');
}

/** One forward in QEMU's hostfwd syntax (`tcp:127.0.0.1:8080-:80`), as hostfwd_add takes it too. */
export function hostfwdRule(f: { protocol: 'tcp' | 'udp'; hostIp: string; hostPort: number; guestPort: number }): string {
  return `${f.protocol}:${f.hostIp}:${f.hostPort}-:${f.guestPort}`;
}
