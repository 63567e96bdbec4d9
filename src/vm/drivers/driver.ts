import type { Accel, Backend, ConsoleDevice, Disposer, PortForward, Snapshot, VmSpec, VmState, VmStatsNotes } from '../types.js';
import type { DiskSnapshotInfo } from '../snapshots.js';

/** A state change reported by a backend. */
export interface DriverEvent {
  state: VmState;
  reason: string | null;
}

/** Optional abilities a backend may have; calling one it lacks is an `unsupported` error. */
export interface DriverCapabilities {
  pause: boolean;
  restart: boolean;
  saveRestore: boolean;
}

/**
 * A running VM's console: bytes written to `socket` go to the guest; anything read from it only
 * says the log grew. The log file (written by a process that outlives bentod) is what viewers read.
 */
export interface ConsoleEndpoint {
  /** A Unix socket taking console input; what it sends back are wake-ups, not output. */
  socket: string;
  /** The file that keeps everything the console printed (boots and rotation in log-index.json beside it). */
  log: string;
  /** Which console the guest was given. */
  device: ConsoleDevice;
  /** Where this run's output begins, for a backend whose log has no log-index.json (vz). */
  bootOffset?: number;
}

/** A VM a driver started or re-adopted; bentod holds one per running VM. */
export interface RunningVm {
  readonly pid: number | null;
  readonly startedAt: Date;
  readonly accel: Accel;
  /** Host port on 127.0.0.1 forwarded to the guest's SSH port, when the backend forwards one. */
  readonly sshPort?: number | null;
  /** The backend's own view of the state right now. */
  queryState(): Promise<VmState>;
  /** State changes the backend reports (pause, resume, shutdown, crash). Ends with a `stopped` event. */
  onEvent(listener: (ev: DriverEvent) => void): Disposer;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Asks the guest to power off (ACPI power button); resolves once asked, not once stopped. */
  requestStop(): Promise<void>;
  /** Stops the VM now (a bounded backend step, then SIGTERM and SIGKILL of the proven pid); resolves once it is gone. */
  kill(): Promise<void>;
  /** Adds and removes port forwards while the VM runs, when the backend can. */
  updateForwards?(add: PortForward[], remove: PortForward[]): Promise<void>;
  /** Hard-resets the guest without stopping the VM process. */
  reset(): Promise<void>;
  /** Backend details for `inspect`. */
  inspect(): Promise<Record<string, unknown>>;
  /** The console stream endpoint, or null when the backend has none. */
  console(): ConsoleEndpoint | null;
  /** Lets go of the VM without touching it (bentod is exiting; the VM keeps running). */
  detach(): void;
  /**
   * Saves, loads or deletes an internal snapshot (disks and, for save/load, RAM) in the given
   * writable disks (indexes into spec.disks; the first holds the RAM) while the VM runs, when the
   * backend can. A save or load leaves the VM in the run state it was in (the caller sets another).
   */
  snapshotJob?(kind: SnapshotJobKind, tag: string, disks: number[], onProgress?: ProgressReporter): Promise<void>;
  /**
   * Refuses (with the backend's own words) a suspend this VM cannot do, before anything changes
   * (a QEMU migration blocker such as a mounted 9p share). Present when the backend can save state.
   */
  checkSave?(name: string): Promise<void>;
  /**
   * Writes the paused VM's RAM and device state to `file` (which must not exist); resolves only once
   * the backend says the state is complete and every byte of it is in the file (not yet fsynced).
   */
  saveState?(file: string, onProgress?: ProgressReporter): Promise<void>;
  /** Ends a VM whose state was just saved, without running the guest again; its stop reason is `saved`. */
  quitSaved?(): Promise<void>;
  /**
   * The VM's cumulative counters right now (the stats sampler turns two of them into rates). Quick:
   * every backend call in it has a short timeout. Absent: the sampler reads only the pid's CPU and RSS.
   */
  sample?(): Promise<VmCounters>;
}

/** A running VM's cumulative counters at one instant; null where the backend has no honest figure. */
export interface VmCounters {
  /** performance.now() when the process figures were read. */
  atMs: number;
  /** CPU time the VM's host process has used (user + system), in seconds. */
  cpuSeconds: number | null;
  rssBytes: number | null;
  /** performance.now() when the disk and network counters were read (they come later, from the monitor). */
  ioAtMs: number;
  diskReadBytes: number | null;
  diskWriteBytes: number | null;
  netRxBytes: number | null;
  netTxBytes: number | null;
  guestMemUsedBytes: number | null;
  guestMemTotalBytes: number | null;
  /** Why figures are null, for the ones the backend never has. */
  notes: VmStatsNotes;
}

/** The snapshot operations of a running VM. */
export type SnapshotJobKind = 'save' | 'load' | 'delete';

/** Internal snapshots of a stopped VM's disk images, when the backend keeps them (qcow2 through qemu-img). */
export interface DiskSnapshotter {
  /** The snapshots one image holds; reads the header even while a running VM holds the image. */
  list(disk: string): Promise<DiskSnapshotInfo[]>;
  create(disk: string, tag: string): Promise<void>;
  /** Reverts the image to the snapshot. */
  apply(disk: string, tag: string): Promise<void>;
  remove(disk: string, tag: string): Promise<void>;
}

/**
 * Snapshots a backend keeps per VM rather than inside each disk (vz: a folder per snapshot with clones
 * of the writable disks and the framework's saved machine state). The manager keeps the lock, the
 * refusals and the shown states; a RAM snapshot is loaded by `Driver.start` with `loadSnapshot`.
 */
export interface VmSnapshotStore {
  /** The VM's complete snapshots, newest first; a half-made one is never listed (and is removed when no create is writing it). */
  list(spec: VmSpec, dir: string): Promise<Snapshot[]>;
  /**
   * Takes a snapshot, all or nothing. With `vm` (running or paused) its disks and RAM: the VM is paused
   * for the copy and then left as it was (`paused`); without, the disks of a stopped VM.
   */
  create(spec: VmSpec, dir: string, tag: string, opts: { vm: RunningVm | null; paused: boolean; createdAt: string; onProgress?: ProgressReporter }): Promise<Snapshot>;
  /** Puts a stopped VM's writable disks back as the snapshot holds them (each replaced in one rename). */
  revertDisks(spec: VmSpec, dir: string, tag: string): Promise<void>;
  remove(spec: VmSpec, dir: string, tag: string): Promise<void>;
}

/** Receives how far a save or restore has got (bytes, and a percentage where the backend knows one). */
export type ProgressReporter = (p: { doneBytes?: number | null; totalBytes?: number | null; percent?: number | null }) => void;

/** How a start brings the guest up, when not by booting it afresh. */
export interface StartOptions {
  /** Reports how far a restore has got (bytes read of the state, when the backend counts them). */
  onProgress?: ProgressReporter;
  /**
   * Brings the VM up at a RAM snapshot's instant: loaded before the guest runs a single instruction,
   * then left running or paused. `disks` as for RunningVm.snapshotJob. vz: the driver clones the
   * snapshot's disks back over the VM's and restores from a clone of its saved state.
   */
  loadSnapshot?: { tag: string; disks: number[]; paused: boolean };
  /**
   * A complete saved state to resume from instead of booting. The driver deletes it (and fsyncs the
   * folder) once the backend has loaded it and before the guest runs a single instruction.
   */
  restoreFrom?: string;
  /** With restoreFrom: leave the guest paused after the restore (it was paused when saved). */
  restorePaused?: boolean;
}

/** A VM backend: QEMU or Virtualization.framework. */
export interface Driver {
  readonly backend: Backend;
  readonly capabilities: DriverCapabilities;
  /** Whether the backend can run on this host, and why not. */
  availability(): { ok: true } | { ok: false; reason: string };
  /** The accelerator a VM with this spec runs with on this host. */
  resolveAccel(spec: VmSpec): Accel;
  /** Makes what a new VM needs inside its folder (disks); returns the final spec. */
  provision(spec: VmSpec, dir: string, opts: { newDiskMiB: number | null }): Promise<VmSpec>;
  /** Starts the VM; resolves once it runs (or rejects with a `start-failed` error). */
  start(spec: VmSpec, dir: string, opts?: StartOptions): Promise<RunningVm>;
  /** Re-attaches to a VM that outlived a previous bentod; null when it is not running. */
  adopt(spec: VmSpec, dir: string): Promise<RunningVm | null>;
  /**
   * Whether any process of a VM folder is alive, decided from the processes, never from state files.
   * Needs no spec, so it works for a VM whose definition is broken too.
   */
  liveProcess(dir: string): { alive: boolean; pid: number | null };
  /** Kills every process of this VM that is alive though bentod does not drive it. */
  killStray(dir: string): Promise<void>;
  /** The command line or configuration the backend would use, for inspect. */
  describe(spec: VmSpec, dir: string): Record<string, unknown>;
  /** Snapshots of a stopped VM's disks; absent when the backend has none (an `unsupported` error). */
  readonly diskSnapshots?: DiskSnapshotter;
  /** Per-VM snapshots (vz); when present the manager uses it instead of diskSnapshots and snapshotJob. */
  readonly snapshotStore?: VmSnapshotStore;
}
