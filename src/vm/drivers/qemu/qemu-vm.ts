import { BentoError, errorMessage } from '../../errors.js';
import { lockHeld } from '../../lock-probe.js';
import type { VmFiles } from '../../paths.js';
import { processAlive, waitForExit } from '../../proc.js';
import type { Accel, ConsoleDevice, Disposer, PortForward, VmState } from '../../types.js';
import { hostfwdRule } from './argv.js';
import type { ConsoleEndpoint, DriverEvent, ProgressReporter, RunningVm, SnapshotJobKind, VmCounters } from '../driver.js';
import { runSnapshotJob } from './snapshot-jobs.js';
import { checkMigrationBlockers, saveToFile } from './migrate.js';
import type { QmpClient, QmpEvent } from './qmp.js';
import { stateFromQueryStatus, transitionFromEvent } from './qmp-state.js';
import { VmProcess } from '../vm-process.js';
import { readExit, type QemuExit } from './vmm.js';
import { QemuCounters } from './qemu-stats.js';

/** QMP calls made for inspect and the power button are short: a stuck qemu must not stall the caller. */
const INSPECT_TIMEOUT_MS = 2_000;
/** query-status answers in well under a millisecond; a qemu that takes this long is stuck. */
const QUERY_TIMEOUT_MS = 2_000;
/** How long bento-vmm gets, once qemu is gone, to write exit.json and let go of its lock. */
const VMM_SETTLE_MS = 2_000;
/** How long qemu gets to exit after `quit` once its state is saved, before it is killed. */
const QUIT_SAVED_MS = 10_000;

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
  /** Host port on 127.0.0.1 forwarded to the guest's SSH port in this run, or null. */
  sshPort?: number | null;
}

/**
 * A running qemu process, proven by pid and by bento-vmm's lock, driven through QMP. The supervision
 * (exit watch, stop reason, kill ladder) is the shared VmProcess; this class maps QMP onto it. Stopping
 * by force never goes through QMP: it signals the proven pid, so a stuck qemu or monitor cannot hang it.
 */
export class QemuVm implements RunningVm {
  readonly pid: number;
  readonly startedAt: Date;
  readonly accel: Accel;
  readonly sshPort: number | null;
  private readonly qmp: QmpClient | null;
  private readonly qmpError: string | null;
  private readonly files: VmFiles;
  private readonly consoleDevice: ConsoleDevice;
  private readonly proc: VmProcess;
  /** Set once the state is saved and qemu is told to quit: its stop reason is then `saved`. */
  private savedQuit = false;
  /** Reads the live figures (stats sampler). */
  private readonly counters: QemuCounters;

  constructor(opts: QemuVmOptions) {
    this.qmp = opts.qmp;
    this.qmpError = opts.qmpError ?? null;
    this.pid = opts.pid;
    this.startedAt = opts.startedAt;
    this.accel = opts.accel;
    this.sshPort = opts.sshPort ?? null;
    this.files = opts.files;
    this.consoleDevice = opts.consoleDevice;
    this.counters = new QemuCounters(opts.pid, () => this.qmp);
    this.proc = new VmProcess({
      pid: opts.pid,
      what: 'qemu',
      lostReason: 'qmp-lost: qemu is running but its monitor closed (bento stop --force kills it)',
      exitRecord: () => exitRecordReason(readExit(this.files.exitRecord), this.pid),
      settle: () => this.vmmSettled(),
      // SIGTERM makes qemu shut down cleanly, flushing its disks: no QMP step comes before it.
      closeChannel: () => this.qmp?.close(),
    });
    if (this.qmp) {
      this.qmp.onEvent((ev) => this.handleEvent(ev));
      this.qmp.onClose(() => void this.proc.channelClosed());
    } else {
      this.proc.watchExit();
    }
  }

  private handleEvent(ev: QmpEvent): void {
    const t = transitionFromEvent(ev);
    if (!t) return;
    // qemu exits after SHUTDOWN; `stopped` comes once the process (and its disk locks) is gone.
    if (t.state === 'stopped') this.proc.backendStopped(this.savedQuit ? 'saved' : t.reason);
    else this.proc.emit(t);
  }

  /** bento-vmm reaps qemu and writes exit.json before it lets go of the lock: wait for that briefly. */
  private async vmmSettled(): Promise<void> {
    const deadline = Date.now() + VMM_SETTLE_MS;
    while (lockHeld(this.files.vmmLock) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  private monitor(): QmpClient {
    if (!this.qmp || this.qmp.closed) {
      throw new BentoError('invalid-state', `qemu (pid ${this.pid}) cannot be driven: ${this.qmpError ?? 'its monitor closed'}; bento stop --force kills it`);
    }
    return this.qmp;
  }

  onEvent(listener: (ev: DriverEvent) => void): Disposer {
    return this.proc.onEvent(listener);
  }

  async queryState(): Promise<VmState> {
    const st = await this.monitor().execute<{ status: string; running: boolean }>('query-status', undefined, { timeoutMs: QUERY_TIMEOUT_MS });
    return stateFromQueryStatus(st.status, st.running);
  }

  /** The raw QMP run state (prelaunch, running, suspended, …). */
  async runStatus(): Promise<string> {
    return (await this.monitor().execute<{ status: string }>('query-status', undefined, { timeoutMs: QUERY_TIMEOUT_MS })).status;
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

  /**
   * Changes the port forwards of the running user network (HMP hostfwd_remove / hostfwd_add, which
   * QMP has no command for). Removals go first so a forward can move to another guest port.
   */
  async updateForwards(add: PortForward[], remove: PortForward[]): Promise<void> {
    // HMP answers in text, not QMP errors: hostfwd_add says nothing when it worked, hostfwd_remove
    // says "host forwarding rule for … removed".
    const hmp = async (line: string, ok: (out: string) => boolean): Promise<void> => {
      const out = await this.monitor().execute<unknown>('human-monitor-command', { 'command-line': line }, { timeoutMs: INSPECT_TIMEOUT_MS });
      const text = typeof out === 'string' ? out.trim() : '';
      if (!ok(text)) throw new BentoError('qmp-error', `${line}: ${text || 'failed'}`);
    };
    for (const f of remove) await hmp(`hostfwd_remove net0 ${f.protocol}:${f.hostIp}:${f.hostPort}`, (t) => /\b(removed|not found)\b/.test(t)); // not found: already gone
    for (const f of add) await hmp(`hostfwd_add net0 ${hostfwdRule(f)}`, (t) => t === '');
  }

  /** One QMP call with the short timeout (crash recovery drives a qemu it just adopted). */
  qmpCall<T = unknown>(command: string, args?: object): Promise<T> {
    return this.monitor().execute<T>(command, args, { timeoutMs: QUERY_TIMEOUT_MS });
  }

  /** Refuses a save QEMU would refuse (migration blockers), before the guest is touched. */
  checkSave(name: string): Promise<void> {
    return checkMigrationBlockers(this.monitor(), name);
  }

  /** Migrates the paused VM into `file` through a socket bentod serves (see migrate.ts). */
  saveState(file: string, onProgress?: ProgressReporter): Promise<void> {
    return saveToFile(this.monitor(), this.files.migrateSocket, file, onProgress);
  }

  /** `quit` (the guest never runs again; its disks were handed over at the migration's end), then the kill ladder if it lingers. */
  async quitSaved(): Promise<void> {
    this.savedQuit = true;
    this.proc.backendStopped('saved');
    await this.monitor()
      .execute('quit', undefined, { timeoutMs: QUERY_TIMEOUT_MS })
      .catch(() => undefined);
    if (!(await waitForExit(this.pid, QUIT_SAVED_MS))) await this.proc.kill();
    await this.proc.exited;
  }

  /** SIGTERM (qemu shuts down cleanly, flushing its disks), then SIGKILL; never waits on QMP. */
  kill(): Promise<void> {
    return this.proc.kill();
  }

  async inspect(): Promise<Record<string, unknown>> {
    const base = { pid: this.pid, alive: processAlive(this.pid) };
    if (!this.qmp || this.qmp.closed) return { ...base, error: this.qmpError ?? 'the QMP monitor is closed' };
    const q = (cmd: string): Promise<unknown> => this.qmp!.execute(cmd, undefined, { timeoutMs: INSPECT_TIMEOUT_MS }).catch((err: unknown) => ({ error: errorMessage(err) }));
    const [status, cpus, block] = await Promise.all([q('query-status'), q('query-cpus-fast'), q('query-block')]);
    return { ...base, qmpVersion: this.qmp.greeting, status, cpus, block };
  }

  /** Internal snapshots while qemu runs: QMP's snapshot jobs (snapshot-jobs.ts). */
  snapshotJob(kind: SnapshotJobKind, tag: string, disks: number[], onProgress?: ProgressReporter): Promise<void> {
    return runSnapshotJob(this.monitor(), kind, tag, disks, onProgress);
  }

  /** qemu's CPU and RSS from /proc, its disks' byte counters from QMP (qemu-stats.ts). */
  sample(): Promise<VmCounters> {
    return this.counters.read();
  }

  console(): ConsoleEndpoint {
    return { socket: this.files.vmmSocket, log: this.files.serialLog, device: this.consoleDevice };
  }

  detach(): void {
    this.proc.detach();
  }
}

/** The stop reason exit.json gives, when it is about this very qemu. */
export function exitRecordReason(rec: QemuExit | null, pid: number): string | null {
  if (!rec || rec.pid !== pid) return null;
  if (rec.signal) return `host-killed: ${rec.signal}`;
  if (rec.code !== 0) return `crashed: qemu exited with status ${rec.code}`;
  return null;
}
