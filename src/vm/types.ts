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

/** Backends bento can drive. */
export type Backend = 'qemu' | 'vz';

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
}

/** A state change pushed on /api/events. */
export interface StateEvent {
  name: string;
  state: VmState;
  previous: VmState;
  reason: string | null;
  at: string;
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
}

/** Body of POST /api/vms/:name/stop. */
export interface StopRequest {
  force?: boolean;
  timeoutMs?: number;
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
