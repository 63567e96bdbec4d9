import fs from 'node:fs';
import path from 'node:path';
import { writeFileSync } from 'atomically';
import { BentoError, errorMessage } from '../../errors.js';
import { FILES, MAX_SOCKET_PATH, vmFiles } from '../../paths.js';
import { isSameProcess } from '../../proc.js';
import { readRuntime } from '../../runtime.js';
import type { Accel, VmSpec } from '../../types.js';
import type { Driver, DriverCapabilities, RunningVm, StartOptions } from '../driver.js';
import { consumeSavedState } from '../../saved-state.js';
import { killPid } from '../vm-process.js';
import { loadVzBinding, type VzBinding, type VzHostInfo } from './binding.js';
import { buildVzConfig } from './config.js';
import { ControlClient } from './control-client.js';
import { createRawDisk } from './disk.js';
import { mapVzError } from './errors.js';
import { PROTOCOL_VERSION, type HelperConfig } from './protocol.js';
import { defaultHelperCommand, spawnHelper, vzNodePath, type HelperCommand } from './spawn.js';
import { VzSnapshots, type CloneFile } from './snapshots.js';
import { VzVm } from './vz-vm.js';

/** What the vz driver depends on; tests swap the platform, the binding and the helper command. */
export interface VzDriverOptions {
  /** BENTO_HOME, where the signed node lives by default. */
  home: string;
  platform?: NodeJS.Platform;
  loadBinding?: () => VzBinding;
  /** How to run the helper; default: the signed node with dist/vz-helper.js (or the TS source). */
  helper?: HelperCommand;
  env?: NodeJS.ProcessEnv;
  /** How snapshots copy disks and state (default: an APFS clone, else a copy); tests watch it. */
  cloneFile?: CloneFile;
}

/** The Virtualization.framework backend: one helper process per VM, driven over its control socket. */
export class VzDriver implements Driver {
  readonly backend = 'vz' as const;
  /** Snapshots as folders of APFS disk clones and saved machine state (snapshots.ts). */
  readonly snapshotStore: VzSnapshots;
  private readonly platform: NodeJS.Platform;
  private readonly loadBinding: () => VzBinding;
  private readonly env: NodeJS.ProcessEnv;
  private info: VzHostInfo | null = null;
  private lastProbeError = '';

  constructor(private readonly opts: VzDriverOptions) {
    this.platform = opts.platform ?? process.platform;
    this.loadBinding = opts.loadBinding ?? loadVzBinding;
    this.env = opts.env ?? process.env;
    this.snapshotStore = new VzSnapshots(opts.cloneFile);
  }

  /** Pause and restart always; save/restore where the framework has it (macOS 14+, Apple silicon). */
  get capabilities(): DriverCapabilities {
    return { pause: true, restart: true, saveRestore: this.probe()?.features.saveRestore ?? false };
  }

  /** The addon's view of this Mac, probed once it loads (a failure is retried: the addon may be built later). */
  private probe(): VzHostInfo | null {
    if (this.info || this.platform !== 'darwin') return this.info;
    try {
      this.info = this.loadBinding().info();
    } catch (err) {
      this.lastProbeError = errorMessage(err);
    }
    return this.info;
  }

  availability(): { ok: true } | { ok: false; reason: string } {
    if (this.platform !== 'darwin') {
      return { ok: false, reason: `it needs macOS (Apple Virtualization.framework) and this host runs ${this.platform}; use --backend qemu` };
    }
    const info = this.probe();
    if (!info) return { ok: false, reason: this.lastProbeError.split('\n')[0] ?? 'the vz addon did not load' };
    if (!info.supported) return { ok: false, reason: 'Virtualization.framework says this Mac cannot run VMs (VZVirtualMachine.isSupported is false)' };
    return { ok: true };
  }

  resolveAccel(): Accel {
    return 'vz';
  }

  private helperCommand(): HelperCommand {
    return this.opts.helper ?? defaultHelperCommand(vzNodePath(this.opts.home, this.env));
  }

  private helperConfig(spec: VmSpec, dir: string, info: VzHostInfo, restoreFrom: string | null = null): HelperConfig {
    const files = vmFiles(dir);
    return {
      protocol: PROTOCOL_VERSION,
      name: spec.name,
      vz: buildVzConfig(spec, files, info),
      files: { control: files.vzControlSocket, console: files.consoleSocket, log: files.serialLog, state: files.state },
      restoreFrom,
    };
  }

  describe(spec: VmSpec, dir: string): Record<string, unknown> {
    const files = vmFiles(dir);
    const avail = this.availability();
    if (!avail.ok) return { backend: 'vz', unavailable: avail.reason };
    const cmd = this.helperCommand();
    try {
      return { helper: [cmd.node, ...cmd.args, files.vzHelperConfig], configuration: this.helperConfig(spec, dir, this.info!).vz };
    } catch (err) {
      return { helper: [cmd.node, ...cmd.args, files.vzHelperConfig], error: errorMessage(err) };
    }
  }

  async provision(spec: VmSpec, dir: string, opts: { newDiskMiB: number | null }): Promise<VmSpec> {
    if (opts.newDiskMiB === null) return spec;
    const disk = path.join(dir, FILES.rawDisk);
    createRawDisk(disk, opts.newDiskMiB);
    return { ...spec, disks: [{ path: disk, format: 'raw', owned: true, readonly: false }, ...spec.disks] };
  }

  async start(spec: VmSpec, dir: string, opts: StartOptions = {}): Promise<RunningVm> {
    const avail = this.availability();
    if (!avail.ok) throw new BentoError('unsupported', `backend vz is unavailable: ${avail.reason}`);
    const files = vmFiles(dir);
    for (const sock of [files.vzControlSocket, files.consoleSocket]) {
      if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) {
        throw new BentoError('start-failed', `start-failed: socket path ${sock} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter BENTO_HOME`);
      }
    }
    const restoreFile = opts.loadSnapshot ? files.vzSnapshotLoad : (opts.restoreFrom ?? null);
    const restorePaused = opts.loadSnapshot ? opts.loadSnapshot.paused : (opts.restorePaused ?? false);
    if (opts.restoreFrom && !this.capabilities.saveRestore) throw new BentoError('unsupported', `${spec.name} has a saved state, but restoring needs macOS 14 on Apple silicon; bento start --discard boots it afresh`);
    if (opts.loadSnapshot && !this.capabilities.saveRestore) throw new BentoError('unsupported', `restoring snapshot ${opts.loadSnapshot.tag} of ${spec.name} loads its RAM, which needs macOS 14 on Apple silicon`);
    // Built first: a configuration this Mac refuses fails before any disk is put back.
    const config = this.helperConfig(spec, dir, this.info!, restoreFile);
    // A state copy left by a restore that a crash cut short is never loaded by anything else.
    fs.rmSync(files.vzSnapshotLoad, { force: true });
    if (opts.loadSnapshot) {
      // The restore deletes the file it loads: it gets a clone, and the snapshot keeps its own.
      this.snapshotStore.stateCopy(spec, dir, opts.loadSnapshot.tag, files.vzSnapshotLoad);
      await this.snapshotStore.revertDisks(spec, dir, opts.loadSnapshot.tag).catch((err: unknown) => {
        fs.rmSync(files.vzSnapshotLoad, { force: true });
        throw err;
      });
    }
    writeFileSync(files.vzHelperConfig, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
    // The helper writes a fresh record once its VM runs; an old one must not be mistaken for it.
    fs.rmSync(files.state, { force: true });
    const { line, pid } = await spawnHelper(this.helperCommand(), files.vzHelperConfig, files.vzHelperLog, this.env).catch((err: unknown) => {
      if (opts.loadSnapshot) fs.rmSync(files.vzSnapshotLoad, { force: true });
      throw err;
    });
    if (line.type === 'failed') {
      // A snapshot's throwaway state copy is no saved state: it never outlives a failed start.
      if (opts.loadSnapshot) fs.rmSync(files.vzSnapshotLoad, { force: true });
      throw mapVzError(line.error, 'start');
    }
    try {
      const client = await ControlClient.connect(files.vzControlSocket, { timeoutMs: 10_000 });
      const vm = new VzVm({ client, pid: line.pid, startedAt: new Date(line.startedAt), files, logOffset: line.logOffset });
      if (restoreFile) {
        // The helper left the restored VM paused: the state goes for good before the guest runs again.
        consumeSavedState(restoreFile);
        if (!restorePaused) await vm.resume();
      }
      return vm;
    } catch (err) {
      // A helper we cannot drive holds its disks: take it (and its VM) down rather than orphan it.
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      if (opts.loadSnapshot) fs.rmSync(files.vzSnapshotLoad, { force: true });
      throw new BentoError('start-failed', `start-failed: could not drive the vz helper: ${errorMessage(err)}`, { cause: err });
    }
  }

  /** The helper process is the VM: alive when its recorded pid is still the very helper of this VM. */
  liveProcess(dir: string): { alive: boolean; pid: number | null } {
    const files = vmFiles(dir);
    const rec = readRuntime(files.state);
    const alive = rec !== null && rec.accel === 'vz' && isSameProcess(rec, files.vzHelperConfig);
    return { alive, pid: alive ? rec.pid : null };
  }

  async killStray(dir: string): Promise<void> {
    const { pid } = this.liveProcess(dir);
    // SIGTERM first: the helper then stops its VM through the framework before it exits.
    if (pid !== null) await killPid(pid);
  }

  async adopt(_spec: VmSpec, dir: string): Promise<RunningVm | null> {
    const files = vmFiles(dir);
    const rec = readRuntime(files.state);
    // The helper's argv holds this VM's own config path: a reused pid is never mistaken for it.
    if (!rec || rec.accel !== 'vz' || !isSameProcess(rec, files.vzHelperConfig)) return null;
    const client = await ControlClient.connect(files.vzControlSocket, { timeoutMs: 5_000 });
    return new VzVm({ client, pid: rec.pid, startedAt: new Date(rec.startedAt), files, logOffset: rec.logOffset });
  }
}
