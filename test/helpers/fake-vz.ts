// A fake of the vz addon (bento_vz.node) with the same interface, for tests on Linux. It plays the
// framework's part: state changes in VZVirtualMachineState order, delegate calls, a guest console on a
// pipe pair (FIFOs here, since Node cannot make pipes) that echoes input, and NSError-shaped errors.
// Every call is recorded, in memory and, when BENTO_VZ_FAKE_LOG is set, as JSON lines in that file.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { VzBinding, VzErrorInfo, VzFeatures, VzHostInfo, VzMachine, VzNativeEvent, VzStatus } from '../../src/vm/drivers/vz/binding.js';
import type { VzConfig } from '../../src/vm/drivers/vz/config.js';

/** How the fake framework and guest behave. */
export interface FakeVzOptions {
  macos?: string;
  arch?: 'arm64' | 'x64';
  supported?: boolean;
  entitled?: boolean;
  features?: Partial<VzFeatures>;
  /** createMachine throws this (a validateWithError: failure, say). */
  createError?: VzErrorInfo;
  /** start() rejects with this after going through `starting`. */
  startError?: VzErrorInfo;
  /** What the guest does with the power button: power off, or nothing. */
  guest?: 'poweroff' | 'ignore';
  /** The VM dies with didStopWithError this long after it started. */
  crashAfterMs?: number;
  /** JSON-lines call log (for a fake loaded inside the helper process). */
  log?: string;
}

/** One recorded call. */
export interface FakeCall {
  call: string;
  [k: string]: unknown;
}

/** Env vars the helper-side fake reads its options and log path from. */
export const FAKE_OPTIONS_ENV = 'BENTO_VZ_FAKE_OPTIONS';
export const FAKE_LOG_ENV = 'BENTO_VZ_FAKE_LOG';
/** What the fake guest prints once booted. */
export const FAKE_BANNER = 'fake guest: ready\r\n';

const S = { stopped: 0, running: 1, paused: 2, error: 3, starting: 4, pausing: 5, resuming: 6, stopping: 7, saving: 8, restoring: 9 };

function nsError(info: VzErrorInfo): Error {
  return Object.assign(new Error(info.message), info);
}

function featuresFor(macos: string, arch: string): VzFeatures {
  const major = Number(macos.split('.')[0]);
  return { stop: major >= 12, diskCaching: major >= 12, virtiofs: major >= 12, efi: major >= 13, usbStorage: major >= 13, saveRestore: major >= 14 && arch === 'arm64' };
}

/** The fake binding with explicit options (in-process tests). */
export function createFakeVzBinding(opts: FakeVzOptions = {}): VzBinding & { calls: FakeCall[] } {
  const calls: FakeCall[] = [];
  const record = (c: FakeCall): void => {
    calls.push(c);
    if (opts.log) fs.appendFileSync(opts.log, JSON.stringify(c) + '\n');
  };
  const macos = opts.macos ?? '14.5';
  const arch = opts.arch ?? 'arm64';
  return {
    version: '1',
    calls,
    info(): VzHostInfo {
      record({ call: 'info' });
      return {
        macos,
        macosMajor: Number(macos.split('.')[0]),
        arch,
        supported: opts.supported ?? true,
        entitled: opts.entitled ?? true,
        features: { ...featuresFor(macos, arch), ...opts.features },
        limits: { minCpus: 1, maxCpus: 8, minMemoryBytes: 128 * 1024 * 1024, maxMemoryBytes: 16 * 1024 ** 3 },
      };
    },
    createMachine(config: VzConfig, onEvent: (ev: VzNativeEvent) => void): VzMachine {
      record({ call: 'createMachine', config });
      if (opts.createError) throw nsError(opts.createError);
      return new FakeMachine(opts, record, onEvent);
    },
  };
}

/** The entry the helper loads through BENTO_VZ_FAKE_BINDING: options and log path from the environment. */
export function fakeVzBinding(): VzBinding {
  const raw = process.env[FAKE_OPTIONS_ENV];
  const opts = raw ? (JSON.parse(raw) as FakeVzOptions) : {};
  return createFakeVzBinding({ ...opts, log: process.env[FAKE_LOG_ENV] ?? opts.log });
}

class FakeMachine implements VzMachine {
  readonly consoleReadFd: number;
  readonly consoleWriteFd: number;
  private state = S.stopped;
  private readonly dir: string;
  private readonly guestOut: net.Socket;
  private readonly guestIn: net.Socket;
  private disposed = false;

  constructor(
    private readonly opts: FakeVzOptions,
    private readonly record: (c: FakeCall) => void,
    private readonly onEvent: (ev: VzNativeEvent) => void,
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-fake-vz-'));
    const out = path.join(this.dir, 'out');
    const inp = path.join(this.dir, 'in');
    execFileSync('mkfifo', ['-m', '600', out, inp]);
    const C = fs.constants;
    // Non-blocking opens need the other end first for writers: open each FIFO's reader before its writer.
    this.consoleReadFd = fs.openSync(out, C.O_RDONLY | C.O_NONBLOCK);
    const guestWriteFd = fs.openSync(out, C.O_WRONLY | C.O_NONBLOCK);
    const guestReadFd = fs.openSync(inp, C.O_RDONLY | C.O_NONBLOCK);
    this.consoleWriteFd = fs.openSync(inp, C.O_WRONLY | C.O_NONBLOCK);
    // Open descriptors outlive their names: remove the FIFOs now, so a killed helper leaves nothing.
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.guestOut = new net.Socket({ fd: guestWriteFd, readable: false, writable: true });
    this.guestIn = new net.Socket({ fd: guestReadFd, readable: true, writable: false });
    this.guestOut.on('error', () => undefined);
    this.guestIn.on('error', () => undefined);
    // A terminal-like guest: it echoes what it is sent.
    this.guestIn.on('data', (d: Buffer) => this.print(`echo:${d.toString()}`));
  }

  private print(text: string): void {
    if (!this.guestOut.destroyed) this.guestOut.write(text);
  }

  private go(...states: number[]): Promise<void> {
    return new Promise((resolve) => {
      setImmediate(() => {
        for (const s of states) {
          this.state = s;
          if (!this.disposed) this.onEvent({ type: 'state', state: s });
        }
        resolve();
      });
    });
  }

  private need(op: string, ok: boolean): void {
    if (!ok) throw nsError({ kind: 'vz', message: `Invalid virtual machine state transition for ${op}.`, domain: 'VZErrorDomain', nsCode: 4 });
  }

  async start(): Promise<void> {
    this.record({ call: 'start' });
    this.need('start', this.state === S.stopped || this.state === S.error);
    if (this.opts.startError) {
      await this.go(S.starting, S.stopped);
      throw nsError(this.opts.startError);
    }
    await this.go(S.starting, S.running);
    this.print(FAKE_BANNER);
    if (this.opts.crashAfterMs !== undefined) {
      setTimeout(() => {
        if (this.disposed) return;
        this.onEvent({ type: 'did-stop-with-error', error: { message: 'The virtual machine stopped unexpectedly.', domain: 'VZErrorDomain', nsCode: 1 } });
        void this.go(S.error);
      }, this.opts.crashAfterMs);
    }
  }

  async pause(): Promise<void> {
    this.record({ call: 'pause' });
    this.need('pause', this.state === S.running);
    await this.go(S.pausing, S.paused);
  }

  async resume(): Promise<void> {
    this.record({ call: 'resume' });
    this.need('resume', this.state === S.paused);
    await this.go(S.resuming, S.running);
  }

  async requestStop(): Promise<void> {
    this.record({ call: 'requestStop' });
    this.need('requestStop', this.state === S.running);
    if ((this.opts.guest ?? 'poweroff') === 'ignore') return;
    setTimeout(() => {
      if (this.disposed) return;
      this.print('reboot: Power down\r\n');
      this.onEvent({ type: 'guest-did-stop' });
      void this.go(S.stopped);
    }, 30);
  }

  async stop(): Promise<void> {
    this.record({ call: 'stop' });
    this.need('stop', this.state === S.running || this.state === S.paused);
    await this.go(S.stopping, S.stopped);
  }

  async save(file: string): Promise<void> {
    this.record({ call: 'save', file });
    if (this.state !== S.paused) throw nsError({ kind: 'vz', message: 'The virtual machine must be paused.', domain: 'VZErrorDomain', nsCode: 3 });
    await this.go(S.saving, S.paused);
    fs.writeFileSync(file, 'fake saved state');
  }

  async restore(file: string): Promise<void> {
    // What was in the file (when there is one), as the framework read it: tests check a restore loaded the right state.
    this.record({ call: 'restore', file, ...(fs.existsSync(file) ? { content: fs.readFileSync(file, 'utf8') } : {}) });
    await this.go(S.restoring, S.paused);
  }

  async status(): Promise<VzStatus> {
    this.record({ call: 'status' });
    const s = this.state;
    return { state: s, canStart: s === S.stopped, canPause: s === S.running, canResume: s === S.paused, canRequestStop: s === S.running, canStop: s === S.running || s === S.paused };
  }

  dispose(): void {
    this.record({ call: 'dispose' });
    this.disposed = true;
    this.guestOut.destroy();
    this.guestIn.destroy();
  }
}
