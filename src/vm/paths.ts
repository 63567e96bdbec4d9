import os from 'node:os';
import path from 'node:path';
import { BentoError } from './errors.js';

/** Every file name bento keeps on disk, in one place. */
export const FILES = {
  socket: 'bentod.sock',
  daemonPid: 'bentod.pid',
  daemonLog: 'bentod.log',
  daemonLock: 'bentod.lock',
  vmsDir: 'vms',
  spec: 'vm.json',
  disk: 'disk.qcow2',
  qemuPid: 'qemu.pid',
  qmpSocket: 'qmp.sock',
  serialSocket: 'serial.sock',
  consoleSocket: 'console.sock',
  serialLog: 'serial.log',
  state: 'state.json',
  events: 'events.log',
  qemuStderr: 'qemu.stderr',
  // bento-vmm (native/src/vmm/vmm.c spells these names too): its lock, which its qemu inherits, its
  // socket for console input and log wake-ups, qemu's exit status, the boots in the log, the
  // rotated log.
  vmmLock: 'vmm.lock',
  vmmSocket: 'vmm.sock',
  exitRecord: 'exit.json',
  logIndex: 'log-index.json',
  serialLogOld: 'serial.log.1',
  // The output of the VM's virtiofsd processes (bento-vmm's sidecars; their sockets are fsSocketName(i)).
  virtiofsdLog: 'virtiofsd.log',
  // Images: the cloud-init NoCloud seed, the guest's host keys read from its console, UEFI variables.
  seed: 'cidata.iso',
  // What the seed was made from beyond the spec (the user's user-data), so it can be remade (a change of mounts).
  seedInput: 'seed-input.json',
  knownHosts: 'known_hosts',
  efiVars: 'efi-vars.fd',
  // Suspend to disk: the saved RAM and device state (only ever complete: written as .partial, renamed
  // once the backend says it is whole), and what bento records about its snapshots beside the disks.
  savedState: 'saved.state',
  savedStatePartial: 'saved.state.partial',
  // The Unix socket a QEMU migration stream passes through while bentod writes or reads saved.state.
  migrateSocket: 'migrate.sock',
  snapshotsMeta: 'snapshots.json',
  // vz backend: a raw disk (vz cannot read qcow2), the per-VM helper's files, EFI state, and, in
  // BENTO_HOME itself, the node binary signed with the virtualization entitlement.
  rawDisk: 'disk.img',
  vzHelperConfig: 'vz-helper.json',
  vzControlSocket: 'vz.sock',
  vzHelperLog: 'vz-helper.log',
  vzMachineId: 'vz-machine-id',
  vzSavedState: 'vz-saved.state',
  // vz snapshots: one folder each under snapshots/ (see SNAPSHOT_FILES), and the throwaway clone of a
  // snapshot's saved state that a restore loads (the restore deletes what it loads; the snapshot stays).
  vzSnapshots: 'snapshots',
  vzSnapshotLoad: 'vz-snapshot-load.state',
  vzNode: 'node-vz',
} as const;

/** The vhost-user socket of the virtio-fs share at index `i` (its virtiofsd listens, qemu connects). */
export function fsSocketName(i: number): string {
  return `fs-${i}.sock`;
}

/** Sockets have a 104-byte path limit on macOS (108 on Linux); we check against the smaller. */
export const MAX_SOCKET_PATH = 103;

/** The bento data folder: $BENTO_HOME, else XDG data dir on Linux, ~/.bento on macOS. */
export function bentoHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BENTO_HOME) return path.resolve(env.BENTO_HOME);
  if (process.platform === 'darwin') return path.join(os.homedir(), '.bento');
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(os.homedir(), '.local', 'share');
  return path.join(xdg, 'bento');
}

/** The default socket path of bentod for a home. */
export function socketPath(home: string): string {
  return path.join(home, FILES.socket);
}

/** The folder holding every VM's folder. */
export function vmsDir(home: string): string {
  return path.join(home, FILES.vmsDir);
}

/** A VM's folder; refuses any name that would resolve outside the VMs folder. */
export function vmDir(home: string, name: string): string {
  const base = vmsDir(home);
  const dir = path.resolve(base, name);
  if (path.dirname(dir) !== base || name !== path.basename(dir)) {
    throw new BentoError('invalid-input', `name: "${name}" would leave the VMs folder`, {
      fields: [{ field: 'name', message: 'must be a plain name, not a path' }],
    });
  }
  return dir;
}

/** Paths of one VM's files. */
export function vmFiles(dir: string): VmFiles {
  return Object.fromEntries(Object.entries(FILES).map(([k, v]) => [k, path.join(dir, v)])) as VmFiles;
}

/** Absolute paths of every bento file name, for one VM folder. */
export type VmFiles = { -readonly [K in keyof typeof FILES]: string };

/** Sockets a VM folder holds or may hold (vmm.sock: the planned per-VM monitor); the longest sets the name limit. */
export const VM_SOCKET_NAMES: readonly string[] = [FILES.qmpSocket, FILES.serialSocket, FILES.consoleSocket, FILES.vzControlSocket, 'vmm.sock', FILES.migrateSocket, fsSocketName(7)];

/** The longest VM name whose folder's socket paths all fit in MAX_SOCKET_PATH bytes under this home. */
export function maxNameLengthFor(home: string): number {
  const longest = Math.max(...VM_SOCKET_NAMES.map((n) => Buffer.byteLength(n)));
  // <vms>/<name>/<socket>
  return MAX_SOCKET_PATH - Buffer.byteLength(vmsDir(home)) - 2 - longest;
}

/** Bookkeeping files of the instance store inside a VM folder (crash recovery and kept disks). */
export const STORE_MARKERS = {
  /** Present from just after a create claims the folder until vm.json is complete. */
  creating: '.creating',
  /** Left in the folder of a deleted VM whose disks other VMs still use; lists those disks. */
  keptDisks: 'kept-disks.txt',
  /** The new definition of a VM being renamed, written before its folder moves; a load after a crash finishes the rename. */
  renaming: '.renaming',
  /** Prefix of a folder being deleted (renamed first, so a VM disappears in one step). */
  deletingPrefix: '.deleting-',
} as const;

/** File names inside one vz snapshot folder (`snapshots/<tag>/`, made as `snapshots/.<tag>.partial/`). */
export const SNAPSHOT_FILES = {
  meta: 'meta.json',
  /** The machine state the framework saved (RAM snapshots only). */
  state: 'vm.state',
  /** Prefix and suffix of a snapshot folder being written; such a folder is never a snapshot. */
  partialPrefix: '.',
  partialSuffix: '.partial',
  /** Suffix of a snapshot folder being removed (renamed first, so it goes from the list in one step). */
  removingSuffix: '.removing',
} as const;

/** File names of the image cache under $BENTO_HOME (see src/vm/images/cache.ts). */
export const IMAGE_FILES = {
  /** The cache folder: `sha256-<hex>` images, `sha256-<hex>.json` metadata, refs.json, partial/. */
  dir: 'images',
  refs: 'refs.json',
  /** Downloads in progress or interrupted: `<sha256 of url>.part` and `.json`; never used as images. */
  partial: 'partial',
  /** The user's catalog additions and overrides, in $BENTO_HOME itself. */
  userCatalog: 'images.json',
} as const;

/** The image cache folder of a home. */
export function imagesDir(home: string): string {
  return path.join(home, IMAGE_FILES.dir);
}
