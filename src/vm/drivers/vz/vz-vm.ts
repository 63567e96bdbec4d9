import { BentoError } from '../../errors.js';
import type { VmFiles } from '../../paths.js';
import { waitForExit } from '../../proc.js';
import type { Accel, Disposer, VmState } from '../../types.js';
import type { ConsoleEndpoint, DriverEvent, RunningVm } from '../driver.js';
import type { ControlClient, HelperStateMessage } from './control-client.js';

/** How long the destructive stop gets before the helper is killed (and the VM with it). */
export const STOP_GRACE_MS = 5_000;
/** How long after the control socket closes we wait for the helper to be gone. */
const EXIT_AFTER_CLOSE_MS = 5_000;

interface VzVmOptions {
  client: ControlClient;
  pid: number;
  startedAt: Date;
  files: Pick<VmFiles, 'consoleSocket' | 'serialLog' | 'vzSavedState'>;
  logOffset: number;
}

/**
 * A vz VM seen from bentod: its helper process, driven over the control socket. `stopped` is reported
 * once the helper has exited (its VM, disks and sockets are then gone), like QEMU's process exit.
 */
export class VzVm implements RunningVm {
  readonly pid: number;
  readonly startedAt: Date;
  readonly accel: Accel = 'vz';
  private readonly client: ControlClient;
  private readonly files: VzVmOptions['files'];
  private readonly logOffset: number;
  private readonly listeners = new Set<(ev: DriverEvent) => void>();
  private stopReason: string | null = null;
  private killing = false;
  private detached = false;
  private readonly exited: Promise<void>;
  private markExited!: () => void;

  constructor(opts: VzVmOptions) {
    this.client = opts.client;
    this.pid = opts.pid;
    this.startedAt = opts.startedAt;
    this.files = opts.files;
    this.logOffset = opts.logOffset;
    this.exited = new Promise((resolve) => (this.markExited = resolve));
    this.client.onState((m) => this.handleState(m));
    this.client.onClose(() => void this.handleClose());
  }

  private emit(ev: DriverEvent): void {
    if (this.detached) return;
    for (const l of this.listeners) l(ev);
  }

  private handleState(m: HelperStateMessage): void {
    if (m.state === 'stopped') {
      // The helper exits right after this; report `stopped` once it has (handleClose).
      this.stopReason = m.reason;
      return;
    }
    this.emit({ state: m.state, reason: m.reason });
  }

  private async handleClose(): Promise<void> {
    if (this.detached) return;
    if (!(await waitForExit(this.pid, EXIT_AFTER_CLOSE_MS))) {
      // Alive but deaf: never kill it on our own initiative; the user can force-stop it.
      this.emit({ state: 'error', reason: 'control-lost: the vz helper is running but its control socket closed' });
      return;
    }
    this.emit({ state: 'stopped', reason: this.stopReason ?? (this.killing ? 'forced' : 'crashed') });
    this.markExited();
  }

  onEvent(listener: (ev: DriverEvent) => void): Disposer {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async queryState(): Promise<VmState> {
    const r = await this.client.request<{ state: VmState }>('query');
    return r.state;
  }

  async pause(): Promise<void> {
    await this.client.request('pause');
  }

  async resume(): Promise<void> {
    await this.client.request('resume');
  }

  async requestStop(): Promise<void> {
    await this.client.request('requestStop');
  }

  /** Saves the paused VM's state to a file (macOS 14+ on Apple silicon); vz's optional capability. */
  async saveState(file: string = this.files.vzSavedState): Promise<void> {
    if (!this.client.hello.saveRestore) throw new BentoError('unsupported', 'saving VM state needs macOS 14 on Apple silicon');
    await this.client.request('save', { file }, { timeoutMs: 120_000 });
  }

  reset(): Promise<void> {
    // Virtualization.framework has no reset; a restart (stop, then start) is the way.
    return Promise.reject(new BentoError('unsupported', 'the vz backend cannot reset a running VM; use restart'));
  }

  /**
   * The end of the stop ladder (the manager has already asked the guest and waited): the framework's
   * destructive stop, then SIGKILL of the helper if it is still there, which takes the VM down with it.
   */
  async kill(): Promise<void> {
    this.killing = true;
    if (!this.client.closed) {
      try {
        await this.client.request('stop', {}, { timeoutMs: STOP_GRACE_MS });
      } catch {
        // The helper may exit before it answers; the exit wait below is what counts.
      }
    }
    if (!(await waitForExit(this.pid, STOP_GRACE_MS))) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // raced with its exit
      }
      if (!(await waitForExit(this.pid, 10_000))) throw new BentoError('timeout', `vz helper pid ${this.pid} did not die after SIGKILL`);
    }
    if (!this.client.closed) this.client.close();
    await Promise.race([this.exited, new Promise((r) => setTimeout(r, EXIT_AFTER_CLOSE_MS + 1_000))]);
  }

  async inspect(): Promise<Record<string, unknown>> {
    const runtime = await this.client.request<Record<string, unknown>>('inspect');
    return { helperPid: this.pid, ...runtime };
  }

  console(): ConsoleEndpoint {
    return { socket: this.files.consoleSocket, log: this.files.serialLog, device: 'virtio', bootOffset: this.logOffset };
  }

  detach(): void {
    this.detached = true;
    this.listeners.clear();
    this.client.close();
  }
}
