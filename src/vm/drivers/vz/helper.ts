import fs from 'node:fs';
import path from 'node:path';
import { BentoError } from '../../errors.js';
import { FILES, vmFiles } from '../../paths.js';
import { processIdentity } from '../../proc.js';
import { readRuntime, SERIAL_LOG_CAP, writeRuntime } from '../../runtime.js';
import { SerialLogWriter } from '../../serial-log-writer.js';
import type { VmState } from '../../types.js';
import type { VzBinding, VzErrorInfo, VzFeatures, VzHostInfo, VzMachine, VzNativeEvent } from './binding.js';
import { HelperConsole } from './helper-console.js';
import { ControlServer } from './helper-control.js';
import { PROTOCOL_VERSION, type HelperConfig, type HelperMessage, type HelperRequest } from './protocol.js';
import { stopReason, vmStateFromVz, vzStateName, type StopFacts } from './states.js';

/** After `stopped` with no delegate call yet, how long to wait for one before deciding the reason. */
const SETTLE_MS = 500;
/** Time for the guest's last console bytes to reach serial.log before the pipes close. */
const FLUSH_MS = 100;
/** After a signal, how long a destructive stop gets before the helper exits anyway (the VM dies with it). */
const SIGNAL_GRACE_MS = 3_000;

/** What the helper tells its spawner once the VM runs. */
export interface HelperStarted {
  pid: number;
  startedAt: string;
  logOffset: number;
}

/** A failure with a wire kind, for errors the helper itself detects. */
export function helperError(kind: VzErrorInfo['kind'] | 'entitlement' | 'binding', message: string): Error {
  return Object.assign(new Error(message), { kind });
}

/**
 * One vz VM in its own process: builds it from the helper config, starts it, keeps serial.log and the
 * console socket, serves the control socket, and finishes (reason recorded, sockets removed) when the
 * VM stops. `finished` resolves with the stop reason; the caller then exits, as the VM is gone.
 */
export class VzHelper {
  /** Resolves with the stop reason once the VM has stopped and everything is closed. */
  readonly finished: Promise<string>;
  private resolveFinished!: (reason: string) => void;
  private phase: 'new' | 'starting' | 'running' | 'finishing' = 'new';
  private state: VmState = 'stopped';
  private vzRaw = 0;
  private stopSeen = false;
  private readonly facts: StopFacts = { guestStopped: false, stopError: null, forced: false, signal: null };
  private finishTimer: NodeJS.Timeout | null = null;
  private info!: VzHostInfo;
  private machine: VzMachine | null = null;
  private console: HelperConsole | null = null;
  private control: ControlServer | null = null;
  private logWriter: SerialLogWriter | null = null;
  private logOffset = 0;
  private startedAt = new Date();

  constructor(
    private readonly binding: VzBinding,
    private readonly config: HelperConfig,
    private readonly log: (line: string) => void,
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  private get features(): VzFeatures {
    return this.info.features;
  }

  /** Builds and starts the VM; rejects (with everything undone) when it cannot. */
  async start(): Promise<HelperStarted> {
    if (this.phase !== 'new') throw new BentoError('invalid-state', 'the helper starts its VM once');
    this.phase = 'starting';
    this.info = this.binding.info();
    if (!this.info.supported) {
      throw helperError('unsupported', 'Virtualization.framework says this Mac cannot run VMs (VZVirtualMachine.isSupported is false)');
    }
    if (!this.info.entitled) {
      throw helperError('entitlement', `${process.execPath} lacks the com.apple.security.virtualization entitlement`);
    }
    const { files } = this.config;
    for (const f of [files.control, files.console]) fs.rmSync(f, { force: true });
    this.logWriter = new SerialLogWriter(vmFiles(path.dirname(files.log)), SERIAL_LOG_CAP);
    this.logOffset = this.logWriter.bootOffset;
    try {
      this.machine = this.binding.createMachine(this.config.vz, (ev) => this.onNative(ev));
      this.console = new HelperConsole({
        readFd: this.machine.consoleReadFd,
        writeFd: this.machine.consoleWriteFd,
        writeLog: (chunk) => this.logWriter!.write(chunk),
        socketPath: files.console,
        log: this.log,
      });
      await this.console.listen();
      this.control = new ControlServer(files.control, { hello: () => this.hello(), request: (r) => this.request(r) }, this.log);
      await this.control.listen();
      if (this.config.restoreFrom !== null) {
        if (!this.features.saveRestore) throw helperError('unsupported', 'restoring a saved VM needs macOS 14 on Apple silicon');
        // Left paused: bentod deletes the saved state before the guest runs again, then resumes it.
        await this.machine.restore(this.config.restoreFrom);
      } else {
        await this.machine.start();
      }
    } catch (err) {
      await this.teardown();
      throw err;
    }
    this.phase = 'running';
    this.startedAt = new Date();
    const identity = processIdentity(process.pid);
    writeRuntime(files.state, {
      pid: process.pid,
      startTime: identity?.startTime ?? '',
      startedAt: this.startedAt.toISOString(),
      accel: 'vz',
      reason: null,
      logOffset: this.logOffset,
      sshPort: null,
    });
    // A stop that raced the start's completion is handled now that the VM counts as running.
    if (this.stopSeen) this.scheduleFinish();
    return { pid: process.pid, startedAt: this.startedAt.toISOString(), logOffset: this.logOffset };
  }

  private hello(): HelperMessage {
    return {
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      pid: process.pid,
      state: this.state,
      vzState: vzStateName(this.vzRaw),
      startedAt: this.startedAt.toISOString(),
      logOffset: this.logOffset,
      saveRestore: this.features.saveRestore,
    };
  }

  private onNative(ev: VzNativeEvent): void {
    switch (ev.type) {
      case 'state': {
        this.vzRaw = ev.state;
        this.state = vmStateFromVz(ev.state);
        this.log(`state ${vzStateName(ev.state)}`);
        if (this.state === 'stopped' || this.state === 'error') {
          this.stopSeen = true;
          this.scheduleFinish();
          return;
        }
        this.control?.broadcast({ type: 'state', state: this.state, vzState: vzStateName(ev.state), reason: null });
        return;
      }
      case 'guest-did-stop':
        this.facts.guestStopped = true;
        this.log('guestDidStopVirtualMachine');
        this.scheduleFinish();
        return;
      case 'did-stop-with-error':
        this.facts.stopError = describeNative(ev.error);
        this.log(`didStopWithError: ${this.facts.stopError}`);
        this.scheduleFinish();
        return;
      case 'network-disconnected':
        this.log(`network attachment disconnected: ${describeNative(ev.error)}`);
        return;
    }
  }

  /** Finishes now when the stop is explained, else after SETTLE_MS (a delegate call may still come). */
  private scheduleFinish(): void {
    if (this.phase !== 'running') return;
    const f = this.facts;
    const explained = f.guestStopped || f.stopError !== null || f.forced || f.signal !== null;
    if (this.finishTimer) clearTimeout(this.finishTimer);
    this.finishTimer = setTimeout(() => void this.finish(), this.stopSeen && explained ? 0 : SETTLE_MS);
  }

  private async finish(): Promise<void> {
    if (this.phase === 'finishing') return;
    this.phase = 'finishing';
    const reason = stopReason(this.facts);
    const vzState = vzStateName(this.vzRaw);
    if (this.state === 'error') this.control?.broadcast({ type: 'state', state: 'error', vzState, reason });
    await new Promise((r) => setTimeout(r, FLUSH_MS));
    this.control?.broadcast({ type: 'state', state: 'stopped', vzState, reason });
    // A bentod that is not running learns the reason from state.json when it next starts.
    const rec = readRuntime(this.config.files.state);
    if (rec && rec.pid === process.pid) {
      try {
        writeRuntime(this.config.files.state, { ...rec, reason });
      } catch (err) {
        this.log(`cannot record the stop reason: ${(err as Error).message}`);
      }
    }
    await this.teardown();
    this.resolveFinished(reason);
  }

  private async teardown(): Promise<void> {
    await this.console?.close().catch(() => undefined);
    await this.control?.close().catch(() => undefined);
    this.machine?.dispose();
    this.logWriter?.close();
    this.console = null;
    this.control = null;
    this.machine = null;
    this.logWriter = null;
  }

  /** A signal asked the helper to quit: stop the VM (destructively) and finish; false when there is nothing to finish. */
  signal(name: string): boolean {
    if (this.phase === 'finishing') return true;
    if (this.phase !== 'running' || !this.machine) return false;
    this.log(`${name}: stopping the VM`);
    this.facts.signal = name;
    if (this.features.stop) this.machine.stop().catch((err: unknown) => this.log(`stop after ${name}: ${(err as Error).message}`));
    // Whatever the framework does, the helper ends: and the VM with it.
    setTimeout(() => void this.finish(), this.features.stop ? SIGNAL_GRACE_MS : 0);
    return true;
  }

  private async request(req: HelperRequest): Promise<unknown> {
    const m = this.machine;
    if (!m || this.phase !== 'running') throw helperError('state', `the VM is ${this.phase === 'finishing' ? 'stopping' : 'not running'}`);
    switch (req.op) {
      case 'query':
        return { state: this.state, vzState: vzStateName(this.vzRaw) };
      case 'inspect':
        return {
          pid: process.pid,
          state: this.state,
          vzState: vzStateName(this.vzRaw),
          macos: this.info.macos,
          arch: this.info.arch,
          features: this.features,
          status: await m.status(),
          configuration: this.config.vz,
        };
      case 'pause':
        return m.pause();
      case 'resume':
        return m.resume();
      case 'requestStop':
        return m.requestStop();
      case 'stop':
        this.facts.forced = true;
        // macOS 11 has no destructive stop: ending the helper ends the VM, which is the same thing.
        if (!this.features.stop) {
          void this.finish();
          return null;
        }
        return m.stop();
      case 'save':
        if (!this.features.saveRestore) throw helperError('unsupported', 'saving a VM needs macOS 14 on Apple silicon');
        return m.save(req.file ?? path.join(path.dirname(this.config.files.state), FILES.vzSavedState));
    }
  }
}

function describeNative(e: VzErrorInfo): string {
  return e.domain !== undefined ? `${e.message} [${e.domain} ${e.nsCode ?? '?'}]` : e.message;
}
