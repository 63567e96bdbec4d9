import { BentoError } from '../../errors.js';
import type { VmFiles } from '../../paths.js';
import type { Accel, Disposer, VmState } from '../../types.js';
import type { ConsoleEndpoint, DriverEvent, ProgressReporter, RunningVm, VmCounters } from '../driver.js';
import { VmProcess } from '../vm-process.js';
import { waitForExit } from '../../proc.js';
import { processCounters } from '../../proc-usage.js';
import type { ControlClient, HelperStateMessage } from './control-client.js';

/** How long the destructive stop (and the helper's exit after it) gets before the helper is signalled. */
export const STOP_GRACE_MS = 5_000;

interface VzVmOptions {
  client: ControlClient;
  pid: number;
  startedAt: Date;
  files: Pick<VmFiles, 'consoleSocket' | 'serialLog' | 'vzSavedState'>;
  logOffset: number;
}

/**
 * A vz VM seen from bentod: its helper process, driven over the control socket. The supervision is the
 * shared VmProcess: `stopped` is reported once the helper has exited (its VM, disks and sockets are
 * then gone), like QEMU's process exit.
 */
export class VzVm implements RunningVm {
  readonly pid: number;
  readonly startedAt: Date;
  readonly accel: Accel = 'vz';
  private readonly client: ControlClient;
  private readonly files: VzVmOptions['files'];
  private readonly logOffset: number;
  private readonly proc: VmProcess;
  /** Set once the state is saved and the VM is told to stop: its stop reason is then `saved`. */
  private savedQuit = false;

  constructor(opts: VzVmOptions) {
    this.client = opts.client;
    this.pid = opts.pid;
    this.startedAt = opts.startedAt;
    this.files = opts.files;
    this.logOffset = opts.logOffset;
    this.proc = new VmProcess({
      pid: opts.pid,
      what: 'vz helper',
      lostReason: 'control-lost: the vz helper is running but its control socket closed (bento stop --force kills it)',
      // The framework's destructive stop; the helper exits once its VM has stopped. SIGTERM after it
      // makes the helper stop the VM itself, SIGKILL takes the VM down with the helper.
      softKill: () => (this.client.closed ? Promise.resolve() : this.client.request('stop', {}, { timeoutMs: STOP_GRACE_MS })),
      softKillMs: STOP_GRACE_MS,
      closeChannel: () => this.client.close(),
    });
    this.client.onState((m) => this.handleState(m));
    this.client.onClose(() => void this.proc.channelClosed());
  }

  private handleState(m: HelperStateMessage): void {
    // The helper exits right after `stopped`; it is reported once it has.
    if (m.state === 'stopped') this.proc.backendStopped(this.savedQuit ? 'saved' : m.reason);
    else this.proc.emit({ state: m.state, reason: m.reason });
  }

  onEvent(listener: (ev: DriverEvent) => void): Disposer {
    return this.proc.onEvent(listener);
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

  /** Refuses a save on a Mac without saveMachineStateToURL (before macOS 14, or on Intel). */
  async checkSave(): Promise<void> {
    if (!this.client.hello.saveRestore) throw new BentoError('unsupported', 'saving VM state needs macOS 14 on Apple silicon');
  }

  /** Saves the paused VM's state to a file (macOS 14+ on Apple silicon); the framework reports no progress. */
  async saveState(file: string = this.files.vzSavedState, _onProgress?: ProgressReporter): Promise<void> {
    if (!this.client.hello.saveRestore) throw new BentoError('unsupported', 'saving VM state needs macOS 14 on Apple silicon');
    await this.client.request('save', { file }, { timeoutMs: 120_000 });
  }

  /** The framework's stop once the state is saved; resolves once the helper (and its VM) is gone. */
  async quitSaved(): Promise<void> {
    this.savedQuit = true;
    this.proc.backendStopped('saved');
    await this.client.request('stop', {}, { timeoutMs: STOP_GRACE_MS }).catch(() => undefined);
    if (!(await waitForExit(this.pid, STOP_GRACE_MS))) await this.proc.kill();
    await this.proc.exited;
  }

  reset(): Promise<void> {
    // Virtualization.framework has no reset; a restart (stop, then start) is the way.
    return Promise.reject(new BentoError('unsupported', 'the vz backend cannot reset a running VM; use restart'));
  }

  /**
   * The end of the stop ladder (the manager has already asked the guest and waited): the framework's
   * destructive stop within STOP_GRACE_MS, then SIGTERM and SIGKILL of the helper, which takes the VM
   * down with it.
   */
  kill(): Promise<void> {
    return this.proc.kill();
  }

  /**
   * No figures yet, and says why: Virtualization.framework runs the guest in its own XPC service
   * process, not in the helper, so the helper's CPU and memory would not be the VM's.
   */
  async sample(): Promise<VmCounters> {
    const none = 'n/a: the vz backend reports no such figure yet';
    // No pid: the helper's own CPU and memory are not the guest's (the framework runs it elsewhere).
    return processCounters(null, { cpu: 'n/a: Virtualization.framework runs the guest in an XPC process bento does not measure yet', guestMem: none, disk: none, net: none });
  }

  async inspect(): Promise<Record<string, unknown>> {
    const runtime = await this.client.request<Record<string, unknown>>('inspect');
    return { helperPid: this.pid, ...runtime };
  }

  console(): ConsoleEndpoint {
    return { socket: this.files.consoleSocket, log: this.files.serialLog, device: 'virtio', bootOffset: this.logOffset };
  }

  detach(): void {
    this.proc.detach();
  }
}
