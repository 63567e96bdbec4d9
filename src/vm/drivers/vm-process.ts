// The supervision every backend shares: one VM process proven by its pid, the state listeners, the exit
// watch after the monitor channel closes, the kill ladder, and the one rule for which stop reason wins.
// Drivers own it by composition: they keep their protocol (QMP, the vz control socket) and map its
// events to states; this class never talks to a monitor except through the optional first kill step.
import { BentoError } from '../errors.js';
import { processAlive, waitForExit } from '../proc.js';
import type { Disposer } from '../types.js';
import type { DriverEvent } from './driver.js';

/** How long a process gets to exit after SIGTERM before SIGKILL. */
export const TERM_GRACE_MS = 3_000;
/** How long after the monitor channel closes the process gets to exit before it counts as lost. */
export const EXIT_AFTER_CLOSE_MS = 5_000;
/** How often a process without a working monitor is checked for having exited. */
export const EXIT_POLL_MS = 1_000;
/** How long SIGKILL gets before the kill gives up (a process in uninterruptible sleep). */
const KILL_WAIT_MS = 10_000;

/** What is known about how a VM process ended, in the order the stop-reason rule weighs it. */
export interface StopFacts {
  /** bento itself killed it (`stop --force`, or a graceful stop that timed out). */
  forced: boolean;
  /** The reason the backend reported before the exit (QMP SHUTDOWN, the vz helper's `stopped`). */
  reported: string | null;
  /** What the exit record says (qemu: `host-killed: SIGKILL`, `crashed: qemu exited with status N`). */
  record: string | null;
}

/** The one rule, for every backend: bento's own kill, else the backend's word, else the exit record, else `crashed`. */
export function stopReason(f: StopFacts): string {
  if (f.forced) return 'forced';
  return f.reported ?? f.record ?? 'crashed';
}

/** How a driver plugs its backend into the core. */
export interface VmProcessOptions {
  /** The proven pid of the process whose exit means the VM is gone. */
  pid: number;
  /** Names it in errors (`qemu`, `vz helper`). */
  what: string;
  /** The `error` reason when the channel closed but the process lives (`qmp-lost: …`, `control-lost: …`). */
  lostReason: string;
  /** The exit record's reason, or null when there is none (or it is about another process). */
  exitRecord?: () => string | null;
  /** Waits for what must settle between the exit and `stopped` (bento-vmm writing exit.json). */
  settle?: () => Promise<void>;
  /**
   * The backend's own first kill step (vz: the destructive `stop`). It gets at most `softKillMs`,
   * including the wait for the exit it causes; then the pid is signalled whatever it did.
   */
  softKill?: () => Promise<unknown>;
  softKillMs?: number;
  /** Lets go of the monitor channel; called once the process is gone and on detach. */
  closeChannel?: () => void;
  /** Timings, shortened by tests. */
  exitAfterCloseMs?: number;
  termGraceMs?: number;
  pollMs?: number;
}

/**
 * One VM process under supervision. Reports `stopped` exactly once, after the process has exited, with
 * the reason stopReason picks; is silent once detached. A kill never waits on the monitor beyond the
 * soft step's short budget: it signals the proven pid (SIGCONT, SIGTERM, then SIGKILL).
 */
export class VmProcess {
  readonly pid: number;
  /** Resolves once `stopped` has been reported. */
  readonly exited: Promise<void>;
  private readonly listeners = new Set<(ev: DriverEvent) => void>();
  private reported: string | null = null;
  private forced = false;
  private isDetached = false;
  private finishing: Promise<void> | null = null;
  private poll: NodeJS.Timeout | null = null;
  private markExited!: () => void;

  constructor(private readonly opts: VmProcessOptions) {
    this.pid = opts.pid;
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  /** True once the owner let go (bentod exiting): nothing is reported any more. */
  get detached(): boolean {
    return this.isDetached;
  }

  /** True once `stopped` is reported or on its way. */
  get finished(): boolean {
    return this.finishing !== null;
  }

  /** Subscribes to state changes; the last one is `stopped`. */
  onEvent(listener: (ev: DriverEvent) => void): Disposer {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Reports a state change from the backend. `stopped` is never passed here: see backendStopped. */
  emit(ev: DriverEvent): void {
    if (this.isDetached || this.finishing) return;
    for (const l of [...this.listeners]) l(ev);
  }

  /** The backend says the VM stopped, and why; `stopped` waits for the process to exit. */
  backendStopped(reason: string | null): void {
    this.reported = reason;
  }

  /**
   * The monitor channel closed: give the process a few seconds to exit, then report `stopped`; a
   * process that lives on is `error` (lost) and watched by polling. Never killed on our own initiative.
   */
  async channelClosed(): Promise<void> {
    // A kill in progress reports the outcome itself; its SIGTERM grace is longer than our patience.
    if (this.isDetached || this.forced || this.finishing) return;
    if (await waitForExit(this.pid, this.opts.exitAfterCloseMs ?? EXIT_AFTER_CLOSE_MS)) return this.finish();
    if (this.isDetached || this.forced || this.finishing) return;
    this.emit({ state: 'error', reason: this.opts.lostReason });
    this.watchExit();
  }

  /** Without a monitor, only the process tells when the VM is gone. */
  watchExit(): void {
    if (this.poll || this.isDetached || this.finishing) return;
    this.poll = setInterval(() => {
      if (!processAlive(this.pid)) void this.finish();
    }, this.opts.pollMs ?? EXIT_POLL_MS);
    this.poll.unref();
  }

  /** Reports `stopped` once, with the reason the rule picks; later calls share the first one's outcome. */
  finish(): Promise<void> {
    this.finishing ??= this.doFinish();
    return this.finishing;
  }

  private async doFinish(): Promise<void> {
    this.stopPolling();
    await this.opts.settle?.();
    const reason = stopReason({ forced: this.forced, reported: this.reported, record: this.opts.exitRecord?.() ?? null });
    if (!this.isDetached) for (const l of [...this.listeners]) l({ state: 'stopped', reason });
    this.markExited();
  }

  /**
   * The kill ladder: the backend's soft step (bounded), then SIGCONT+SIGTERM of the proven pid (a
   * stopped process cannot act on SIGTERM), SIGKILL after the grace; resolves once `stopped` is out.
   */
  async kill(): Promise<void> {
    if (this.finishing) return this.finishing;
    this.forced = true;
    this.stopPolling();
    if (this.opts.softKill && processAlive(this.pid)) {
      const budget = this.opts.softKillMs ?? 2_000;
      const deadline = Date.now() + budget;
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((r) => (timer = setTimeout(r, budget)));
      // The monitor may never answer, or answer by exiting: either way only the pid decides below.
      await Promise.race([this.opts.softKill().catch(() => undefined), expired]);
      clearTimeout(timer);
      await waitForExit(this.pid, Math.max(0, deadline - Date.now()));
    }
    if (!(await killPid(this.pid, this.opts.termGraceMs ?? TERM_GRACE_MS))) {
      throw new BentoError('timeout', `${this.opts.what} pid ${this.pid} did not die after SIGKILL`);
    }
    this.opts.closeChannel?.();
    await this.finish();
  }

  /** Lets go without touching the process (bentod is exiting; the VM keeps running). */
  detach(): void {
    this.isDetached = true;
    this.listeners.clear();
    this.stopPolling();
    this.opts.closeChannel?.();
  }

  private stopPolling(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }
}

/**
 * SIGCONT+SIGTERM (a stopped process cannot act on SIGTERM), SIGKILL after termGraceMs; true once the
 * process is gone, false when even SIGKILL did not end it within 10 s. Used for proven pids only.
 */
export async function killPid(pid: number, termGraceMs: number = TERM_GRACE_MS): Promise<boolean> {
  if (!processAlive(pid)) return true;
  signal(pid, 'SIGCONT');
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, termGraceMs)) return true;
  signal(pid, 'SIGKILL');
  return waitForExit(pid, KILL_WAIT_MS);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
