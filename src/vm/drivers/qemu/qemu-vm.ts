import { BentoError, errorMessage } from '../../errors.js';
import { lockHeld } from '../../lock-probe.js';
import type { VmFiles } from '../../paths.js';
import { processAlive, waitForExit } from '../../proc.js';
import type { Accel, ConsoleDevice, Disposer, VmState } from '../../types.js';
import type { ConsoleEndpoint, DriverEvent, RunningVm } from '../driver.js';
import type { QmpClient, QmpEvent } from './qmp.js';
import { stateFromQueryStatus, transitionFromEvent } from './qmp-state.js';
import { readExit } from './vmm.js';

/** How long qemu gets to shut down cleanly after SIGTERM before SIGKILL. */
const TERM_GRACE_MS = 3_000;
/** How long after QMP closes we wait for the process to be gone before calling it half-alive. */
const EXIT_AFTER_EOF_MS = 5_000;
/** How often a VM without a working monitor is checked for having exited. */
const EXIT_POLL_MS = 1_000;
/** QMP calls made for inspect and the power button are short: a stuck qemu must not stall the caller. */
const INSPECT_TIMEOUT_MS = 2_000;

interface QemuVmOptions {
  /** The QMP connection, or null when qemu runs but its monitor cannot be reached. */
  qmp: QmpClient | null;
  /** Why there is no QMP connection (shown as the `error` reason). */
  qmpError?: string;
  pid: number;
  startedAt: Date;
  accel: Accel;
  files: VmFiles;
  consoleDevice: ConsoleDevice;
}

/**
 * A running qemu process, proven by pid and by bento-vmm's lock, driven through QMP. Stopping by
 * force never goes through QMP: it signals the proven pid, so a stuck qemu or monitor cannot hang it.
 */
export class QemuVm implements RunningVm {
  readonly pid: number;
  readonly startedAt: Date;
  readonly accel: Accel;
  private readonly qmp: QmpClient | null;
  private readonly qmpError: string | null;
  private readonly files: VmFiles;
  private readonly consoleDevice: ConsoleDevice;
  private readonly listeners = new Set<(ev: DriverEvent) => void>();
  private shutdownReason: string | null = null;
  private killing = false;
  private detached = false;
  private finished = false;
  private poll: NodeJS.Timeout | null = null;
  private readonly exited: Promise<void>;
  private markExited!: () => void;

  constructor(opts: QemuVmOptions) {
    this.qmp = opts.qmp;
    this.qmpError = opts.qmpError ?? null;
    this.pid = opts.pid;
    this.startedAt = opts.startedAt;
    this.accel = opts.accel;
    this.files = opts.files;
    this.consoleDevice = opts.consoleDevice;
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    if (this.qmp) {
      this.qmp.onEvent((ev) => this.handleEvent(ev));
      this.qmp.onClose(() => void this.handleClose());
    } else {
      this.watchExit();
    }
  }

  private emit(ev: DriverEvent): void {
    if (this.detached) return;
    for (const l of this.listeners) l(ev);
  }

  private handleEvent(ev: QmpEvent): void {
    const t = transitionFromEvent(ev);
    if (!t) return;
    if (t.state === 'stopped') {
      // qemu exits after SHUTDOWN; report `stopped` only once the process (and its disk locks) is gone.
      this.shutdownReason = t.reason;
      return;
    }
    this.emit(t);
  }

  private async handleClose(): Promise<void> {
    if (this.detached) return;
    const gone = await waitForExit(this.pid, EXIT_AFTER_EOF_MS);
    if (!gone) {
      // Half-alive: the monitor is gone but the process is not. Never kill it on our own initiative.
      this.emit({ state: 'error', reason: 'qmp-lost: qemu is running but its monitor closed (bento stop --force kills it)' });
      this.watchExit();
      return;
    }
    await this.finish();
  }

  /** Without a monitor, only the process tells when the VM is gone. */
  private watchExit(): void {
    if (this.poll) return;
    this.poll = setInterval(() => {
      if (!processAlive(this.pid)) void this.finish();
    }, EXIT_POLL_MS);
    this.poll.unref();
  }

  /** Reports `stopped` once, with the most precise reason known. */
  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    if (this.poll) clearInterval(this.poll);
    // bento-vmm reaps qemu and writes exit.json before it lets go of the lock: wait for that briefly.
    const deadline = Date.now() + 2_000;
    while (lockHeld(this.files.vmmLock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.emit({ state: 'stopped', reason: this.exitReason() });
    this.markExited();
  }

  private exitReason(): string {
    if (this.killing) return 'forced';
    if (this.shutdownReason) return this.shutdownReason;
    const rec = readExit(this.files.exitRecord);
    if (rec && rec.pid === this.pid) {
      if (rec.signal) return `host-killed: ${rec.signal}`;
      if (rec.code !== 0) return `crashed: qemu exited with status ${rec.code}`;
    }
    return 'crashed';
  }

  private monitor(): QmpClient {
    if (!this.qmp || this.qmp.closed) {
      throw new BentoError('invalid-state', `qemu (pid ${this.pid}) cannot be driven: ${this.qmpError ?? 'its monitor closed'}; bento stop --force kills it`);
    }
    return this.qmp;
  }

  onEvent(listener: (ev: DriverEvent) => void): Disposer {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async queryState(): Promise<VmState> {
    const st = await this.monitor().execute<{ status: string; running: boolean }>('query-status');
    return stateFromQueryStatus(st.status, st.running);
  }

  /** The raw QMP run state (prelaunch, running, suspended, …). */
  async runStatus(): Promise<string> {
    return (await this.monitor().execute<{ status: string }>('query-status')).status;
  }

  async pause(): Promise<void> {
    await this.monitor().execute('stop');
  }

  async resume(): Promise<void> {
    // A guest that suspended itself (ACPI S3) is woken, not continued: `cont` would leave it asleep.
    if ((await this.runStatus()) === 'suspended') await this.monitor().execute('system_wakeup');
    else await this.monitor().execute('cont');
  }

  async requestStop(): Promise<void> {
    // Short: a qemu that cannot take the power button within this is forced by the caller.
    await this.monitor().execute('system_powerdown', undefined, { timeoutMs: INSPECT_TIMEOUT_MS });
  }

  async reset(): Promise<void> {
    await this.monitor().execute('system_reset');
  }

  /** SIGTERM (qemu shuts down cleanly, flushing its disks), then SIGKILL; never waits on QMP. */
  async kill(): Promise<void> {
    this.killing = true;
    signal(this.pid, 'SIGCONT'); // a stopped qemu cannot act on SIGTERM
    signal(this.pid, 'SIGTERM');
    if (!(await waitForExit(this.pid, TERM_GRACE_MS))) {
      signal(this.pid, 'SIGKILL');
      if (!(await waitForExit(this.pid, 10_000))) throw new BentoError('timeout', `qemu pid ${this.pid} did not die after SIGKILL`);
    }
    this.qmp?.close();
    await this.finish();
    await this.exited;
  }

  async inspect(): Promise<Record<string, unknown>> {
    const base = { pid: this.pid, alive: processAlive(this.pid) };
    if (!this.qmp || this.qmp.closed) return { ...base, error: this.qmpError ?? 'the QMP monitor is closed' };
    const q = (cmd: string): Promise<unknown> => this.qmp!.execute(cmd, undefined, { timeoutMs: INSPECT_TIMEOUT_MS }).catch((err: unknown) => ({ error: errorMessage(err) }));
    const [status, cpus, block] = await Promise.all([q('query-status'), q('query-cpus-fast'), q('query-block')]);
    return { ...base, qmpVersion: this.qmp.greeting, status, cpus, block };
  }

  console(): ConsoleEndpoint {
    return { socket: this.files.vmmSocket, log: this.files.serialLog, device: this.consoleDevice };
  }

  detach(): void {
    this.detached = true;
    this.listeners.clear();
    if (this.poll) clearInterval(this.poll);
    this.qmp?.close();
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}
