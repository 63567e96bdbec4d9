import { BentoError } from '../../errors.js';
import type { VmFiles } from '../../paths.js';
import { processAlive, waitForExit } from '../../proc.js';
import type { Accel, ConsoleDevice, Disposer, VmState } from '../../types.js';
import type { ConsoleEndpoint, DriverEvent, RunningVm } from '../driver.js';
import type { QmpClient, QmpEvent } from './qmp.js';
import { stateFromQueryStatus, transitionFromEvent } from './qmp-state.js';

/** How long qemu gets to exit after `quit` before SIGKILL. */
const QUIT_GRACE_MS = 3_000;
/** How long after QMP closes we wait for the process to be gone before calling it half-alive. */
const EXIT_AFTER_EOF_MS = 5_000;

interface QemuVmOptions {
  qmp: QmpClient;
  pid: number;
  startedAt: Date;
  accel: Accel;
  files: VmFiles;
  consoleDevice: ConsoleDevice;
  /** The serial log's size when this run started. */
  logOffset: number;
}

/** A running qemu process seen through its QMP socket. */
export class QemuVm implements RunningVm {
  readonly pid: number;
  readonly startedAt: Date;
  readonly accel: Accel;
  private readonly qmp: QmpClient;
  private readonly files: VmFiles;
  private readonly consoleDevice: ConsoleDevice;
  private readonly logOffset: number;
  private readonly listeners = new Set<(ev: DriverEvent) => void>();
  private shutdownReason: string | null = null;
  private killing = false;
  private detached = false;
  private exited: Promise<void>;
  private markExited!: () => void;

  constructor(opts: QemuVmOptions) {
    this.qmp = opts.qmp;
    this.pid = opts.pid;
    this.startedAt = opts.startedAt;
    this.accel = opts.accel;
    this.files = opts.files;
    this.consoleDevice = opts.consoleDevice;
    this.logOffset = opts.logOffset;
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.qmp.onEvent((ev) => this.handleEvent(ev));
    this.qmp.onClose(() => void this.handleClose());
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
      this.emit({ state: 'error', reason: 'qmp-lost: qemu is running but its monitor closed' });
      return;
    }
    const reason = this.killing ? 'forced' : (this.shutdownReason ?? 'crashed');
    this.emit({ state: 'stopped', reason });
    this.markExited();
  }

  onEvent(listener: (ev: DriverEvent) => void): Disposer {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async queryState(): Promise<VmState> {
    const st = await this.qmp.execute<{ status: string; running: boolean }>('query-status');
    return stateFromQueryStatus(st.status, st.running);
  }

  async pause(): Promise<void> {
    await this.qmp.execute('stop');
  }

  async resume(): Promise<void> {
    await this.qmp.execute('cont');
  }

  async requestStop(): Promise<void> {
    await this.qmp.execute('system_powerdown');
  }

  async reset(): Promise<void> {
    await this.qmp.execute('system_reset');
  }

  async kill(): Promise<void> {
    this.killing = true;
    if (!this.qmp.closed) {
      try {
        await this.qmp.execute('quit', undefined, { timeoutMs: QUIT_GRACE_MS });
      } catch {
        // The monitor may close before it replies; the exit wait below is what counts.
      }
    }
    if (!(await waitForExit(this.pid, QUIT_GRACE_MS))) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // raced with its exit
      }
      if (!(await waitForExit(this.pid, 10_000))) throw new BentoError('timeout', `qemu pid ${this.pid} did not die after SIGKILL`);
    }
    // The QMP close handler reports `stopped`; wait for it so callers see a settled state.
    if (!this.qmp.closed) this.qmp.close();
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, EXIT_AFTER_EOF_MS + 1_000))]);
  }

  async inspect(): Promise<Record<string, unknown>> {
    const [status, cpus, block] = await Promise.all([
      this.qmp.execute('query-status'),
      this.qmp.execute('query-cpus-fast').catch(() => null),
      this.qmp.execute('query-block').catch(() => null),
    ]);
    return { pid: this.pid, alive: processAlive(this.pid), qmpVersion: this.qmp.greeting, status, cpus, block };
  }

  console(): ConsoleEndpoint {
    const socket = this.consoleDevice === 'virtio' ? this.files.consoleSocket : this.files.serialSocket;
    return { socket, log: this.files.serialLog, bootOffset: this.logOffset };
  }

  detach(): void {
    this.detached = true;
    this.listeners.clear();
    this.qmp.close();
  }
}
