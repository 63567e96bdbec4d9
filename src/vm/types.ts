/** The ten VM states of Virtualization.framework's VZVirtualMachineState, used for every backend. */
export const VM_STATES = [
  'stopped',
  'starting',
  'running',
  'pausing',
  'paused',
  'resuming',
  'stopping',
  'saving',
  'restoring',
  'error',
] as const;

/** One of the ten VM states. */
export type VmState = (typeof VM_STATES)[number];

/** Backends bento can drive; 'libvirt' only on VMs of libvirt hosts (a local create refuses it). */
export type Backend = 'qemu' | 'vz' | 'libvirt';

/** The backends of local VMs (each a Driver in bentod). */
export type LocalBackend = Exclude<Backend, 'libvirt'>;

/** Accelerators a user may ask for; `auto` is resolved per host at start. */
export type AccelRequest = 'auto' | 'kvm' | 'hvf' | 'tcg';

/** Accelerators a VM actually runs with (`vz` for Virtualization.framework). */
export type Accel = 'kvm' | 'hvf' | 'tcg' | 'vz';

/** Disk image formats bento passes explicitly to QEMU. */
export type DiskFormat = 'qcow2' | 'raw';

/** Which guest console device bentod streams. */
export type ConsoleDevice = 'serial' | 'virtio';

/** A disk attached to a VM. */
export interface DiskSpec {
  /** Absolute path of the image. */
  path: string;
  format: DiskFormat;
  /** True when bento created the image inside the VM folder (removed with the VM). */
  owned: boolean;
  readonly: boolean;
}

/** How a VM reaches the network: user-mode NAT, the same with no outbound traffic at all, or no NIC. */
export type NetworkMode = 'nat' | 'restricted' | 'none';

/** The firmware that boots a VM without a kernel: SeaBIOS, or UEFI (edk2). */
export type Firmware = 'bios' | 'uefi';

/** A host port forwarded to a guest port (`--publish [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]`). */
export interface PortForward {
  hostIp: string;
  hostPort: number;
  guestPort: number;
  protocol: 'tcp' | 'udp';
}

/** The cached base image a VM's overlay disk sits on. */
export interface ImageRef {
  /** What the user asked for (`debian-12`, a path or a URL). */
  ref: string;
  sha256: string;
  /** The base file in the image cache (read-only; the VM's overlay names it as its backing file). */
  path: string;
  /** The base file's format, given to QEMU explicitly as the backing format. */
  format: DiskFormat;
}

/** The cloud-init NoCloud seed bento generates for a VM (the `cidata` volume in its folder). */
export interface CloudInitSpec {
  /** The guest user bento creates, with passwordless sudo and the SSH keys. */
  user: string;
  /** Stable per VM: cloud-init runs its per-instance steps once. */
  instanceId: string;
}

/** How a shared folder reaches the guest: virtio-fs (a virtiofsd beside qemu, or vz natively) or 9p (inside qemu). */
export type MountType = 'virtiofs' | '9p';

/** A host folder shared with the guest (`--mount SRC[:DST][:ro]`). */
export interface MountSpec {
  /** Absolute host folder, symlinks resolved at create. */
  source: string;
  /** Absolute path in the guest where it is mounted. */
  target: string;
  /** Read-only: enforced on the host side (9p readonly=on, virtiofsd --readonly, vz readOnly). */
  readonly: boolean;
  /** The device tag the guest mounts by (`bento0`, `bento1`, …). */
  tag: string;
  /** Chosen at create, so the guest's mount configuration matches the device qemu gives it. */
  type: MountType;
}

/** The stored definition of a VM (vm.json). */
export interface VmSpec {
  name: string;
  backend: Backend;
  cpus: number;
  memoryMiB: number;
  accel: AccelRequest;
  kernel: string | null;
  initrd: string | null;
  cmdline: string | null;
  disks: DiskSpec[];
  iso: string | null;
  /** Stable across boots so the guest keeps its network identity. */
  mac: string;
  console: ConsoleDevice;
  createdAt: string;
  /** The base image of the VM's first disk, when it was created from one. */
  image: ImageRef | null;
  firmware: Firmware;
  network: NetworkMode;
  publish: PortForward[];
  /** The generated seed, or null when the VM has none (kernel VMs, `--cloud-init none`). */
  cloudInit: CloudInitSpec | null;
  /** Shared folders, in tag order. */
  mounts: MountSpec[];
}

/** How to reach a running VM's SSH server through its forwarded port. */
export interface SshEndpoint {
  host: string;
  port: number;
  user: string | null;
  identityFile: string;
  knownHostsFile: string;
  /** The name the pinned host keys are filed under in knownHostsFile. */
  hostKeyAlias: string;
  /** Whether the guest's host keys have been read from its console (bento ssh refuses until they are). */
  hostKeysPinned: boolean;
}

/** A VM as the API returns it: the spec plus derived runtime state. */
export interface Vm {
  name: string;
  backend: Backend;
  state: VmState;
  /** Why the last state change happened (guest-shutdown, forced, crashed, …), or null. */
  reason: string | null;
  /** The accelerator the running VM uses, or the one `auto` resolves to on this host when stopped. */
  accel: Accel;
  cpus: number;
  memoryMiB: number;
  pid: number | null;
  /** ISO time the current run started, null when stopped. */
  startedAt: string | null;
  spec: VmSpec;
  dir: string;
  /** While a graceful stop runs: when it turns into a forced stop (ISO time), else null. */
  stopDeadline: string | null;
  /** SSH through the forwarded port while the VM runs with a network, else null. */
  ssh: SshEndpoint | null;
  /**
   * Whether the guest is reachable: SSH answers and, with a cloud-init seed, cloud-init finished.
   * False while that is awaited; null when the VM is not running or has no network to probe.
   */
  ready: boolean | null;
  /** A long operation running on this VM right now (suspend, restore, snapshot), or null. */
  progress: VmProgress | null;
  /** The saved RAM and device state a start resumes from (suspend to disk), while a complete one exists. */
  savedState: SavedStateInfo | null;
  /** The host the VM lives on: 'local' or a configured libvirt host's name. */
  host: string;
  /** False while the VM's host is unreachable: state and figures are the last known ones. */
  reachable: boolean;
  /** libvirt details for a VM of a libvirt host, else null. */
  libvirt: LibvirtVmInfo | null;
}

/** What bento knows of a VM's libvirt domain. */
export interface LibvirtVmInfo {
  uri: string;
  uuid: string;
  /** The domain's own name on its host (Vm.name is HOST/DOMAIN). */
  domain: string;
  /** Domain id while active, else null. */
  id: number | null;
  /**
   * True for a domain bento did not define (no bento metadata): bento starts, stops, pauses and
   * attaches to it but never rewrites its XML or undefines it.
   */
  foreign: boolean;
  persistent: boolean;
}

/** A host's connection: local is always connected; a libvirt host connects, loses and retries. */
export type HostConnState = 'connected' | 'connecting' | 'reconnecting' | 'unreachable';

/** One host as GET /api/hosts lists it. */
export interface HostInfo {
  /** 'local' or the configured name. */
  name: string;
  kind: 'local' | 'libvirt';
  /** The libvirt URI; null for local. */
  uri: string | null;
  /** Local is always 'connected'. */
  state: HostConnState;
  /** Why it is not connected (libvirt's message), else null. */
  reason: string | null;
  /** ISO time of the next connect attempt while 'unreachable', else null. */
  retryAt: string | null;
  /** ISO time this state began. */
  since: string;
  /** VMs listed for this host (the last known ones while unreachable). */
  vms: number;
}

/** A host changed (state, VM count) or was removed, pushed on /api/events as `event: host`. */
export type HostEvent = { kind: 'changed'; host: HostInfo } | { kind: 'removed'; name: string };

/** A VM's complete saved state (saved.state): when it was written and its size. */
export interface SavedStateInfo {
  /** ISO time the state was saved. */
  at: string;
  bytes: number;
}

/** Long operations that report progress while they run. */
export type VmOperation = 'suspend' | 'restore' | 'snapshot' | 'snapshot-restore' | 'snapshot-delete';

/** How far a long operation on a VM has got; pushed in `changed` events at most a few times a second. */
export interface VmProgress {
  op: VmOperation;
  /** Bytes written or read so far, when the backend counts them. */
  doneBytes: number | null;
  /** The bytes the operation expects in all, when known. */
  totalBytes: number | null;
  /** 0-100 when the backend knows it (from the bytes, or its own job progress). */
  percent: number | null;
  /** ISO time the operation began. */
  startedAt: string;
}

/** A state change pushed on /api/events. */
export interface StateEvent {
  name: string;
  state: VmState;
  previous: VmState;
  reason: string | null;
  at: string;
  /** The whole VM after the change (bentod sends it, so clients need not fetch it; absent from older bentods). */
  vm?: Vm;
}

/** A VM defined, redefined or deleted, pushed on /api/events as a named event. */
export type VmChange = { kind: 'created' | 'changed'; name: string; vm: Vm } | { kind: 'deleted'; name: string };

/** Body of POST /api/vms. Sizes are strings like `512M`/`8G` or numbers of MiB. */
export interface CreateRequest {
  name: string;
  backend?: Backend;
  cpus?: number;
  memory?: string | number;
  accel?: AccelRequest;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  disk?: string;
  diskFormat?: DiskFormat;
  diskSize?: string | number;
  iso?: string;
  console?: ConsoleDevice;
  /** A catalog id, a path or a URL: the VM's disk becomes an overlay on this image. */
  image?: string;
  firmware?: Firmware;
  network?: NetworkMode;
  /** `[HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]` each. */
  publish?: string[];
  /** `none` skips the cloud-init seed; `auto` (the default) makes one for image VMs. */
  cloudInit?: 'auto' | 'none';
  /** The guest user of the seed (default: the host user; `bento` when that is root). */
  user?: string;
  /** cloud-config to merge into bento's, or any other user-data to pass alongside it (file contents). */
  userData?: string;
  /** Shared folders, `SRC[:DST][:ro]` each (SRC absolute; the CLI resolves relative ones). */
  mount?: string[];
}

/** Body of POST /api/vms/:name/stop. */
export interface StopRequest {
  force?: boolean;
  timeoutMs?: number;
}

/** Body of POST /api/vms/:name/start. */
export interface StartRequest {
  /** Delete the saved state (if any) and boot afresh instead of resuming from it. */
  discard?: boolean;
}

/** GET /api/version. */
export interface VersionInfo {
  version: string;
  backends: Backend[];
  defaultAccel: Accel;
  pid: number;
}

/** A function that undoes a subscription. */
export type Disposer = () => void;

/** The run state a snapshot was taken in: a RAM snapshot comes back running or paused; a disk-only one is of a stopped VM. */
export type SnapshotState = 'running' | 'paused' | 'stopped';

/** One internal qcow2 snapshot of a VM (across all its writable disks), as GET /api/vms/:name/snapshots lists it. */
export interface Snapshot {
  tag: string;
  /** ISO time the snapshot was taken (bento's record, else the qcow2's own date). */
  createdAt: string;
  /** Bytes of saved RAM and device state; 0 for a disk-only snapshot. */
  vmStateBytes: number;
  /** Whether restoring it brings back a running (or paused) VM rather than powered-off disks. */
  withRam: boolean;
  state: SnapshotState;
  /** Disk bytes the snapshot holds on its own, when the backend counts them (qcow2 does not: null). */
  diskBytes: number | null;
  /** False when the tag is missing from some writable disk: such a snapshot can only be removed. */
  complete: boolean;
}

/** Body of POST /api/vms/:name/snapshots. */
export interface SnapshotRequest {
  tag?: string;
}

/**
 * One live sample of a running VM's figures, the rates over the second (or so) before `at`. A figure
 * the backend cannot measure honestly is null; VmStats.notes says why.
 */
export interface VmSample {
  /** ISO time of the sample. */
  at: string;
  /** Host CPU of the VM's process over the interval; 100 = one core busy. */
  cpuPercent: number | null;
  /** Resident memory of the VM's process on the host. */
  rssBytes: number | null;
  /** Memory the guest says it uses (through a balloon device), or null. */
  guestMemUsedBytes: number | null;
  /** Memory the guest says it has, or null. */
  guestMemTotalBytes: number | null;
  /** Bytes per second read from the VM's writable disks. */
  diskReadBps: number | null;
  /** Bytes per second written to the VM's writable disks. */
  diskWriteBps: number | null;
  /** Bytes per second the guest received over its network. */
  netRxBps: number | null;
  /** Bytes per second the guest sent over its network. */
  netTxBps: number | null;
}

/** The figures a VM's samples leave null and why, one line each (shown once in the details pane). */
export interface VmStatsNotes {
  /** Why CPU and host memory are absent. */
  cpu?: string;
  guestMem?: string;
  disk?: string;
  net?: string;
}

/** One VM's figures in GET /api/stats: the last sample, the last minute of them (oldest first) and notes. */
export interface VmStats {
  last: VmSample | null;
  history: VmSample[];
  notes: VmStatsNotes;
}

/** GET /api/stats: every running VM's figures. */
export interface StatsReport {
  /** ISO time of the newest sample. */
  at: string;
  vms: Record<string, VmStats>;
}

/** `event: stats` on /api/events?stats=1, once a second: the newest sample of every running VM. */
export interface StatsEvent {
  at: string;
  vms: Record<string, VmSample>;
  /** Notes of VMs this subscriber has not had them for yet (sent once per VM and subscriber). */
  notes?: Record<string, VmStatsNotes>;
}
