import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { hostAccel } from '../../accel.js';
import { findOnPath } from '../../host.js';
import { BentoError, errorMessage } from '../../errors.js';
import { FILES, MAX_SOCKET_PATH, vmFiles } from '../../paths.js';
import { holderPid, lockHeld } from '../../lock-probe.js';
import { processIdentity } from '../../proc.js';
import { readRuntime, SERIAL_LOG_CAP, updateRuntime, writeRuntime } from '../../runtime.js';
import type { Accel, DiskFormat, VmSpec } from '../../types.js';
import type { Driver, RunningVm, StartOptions } from '../driver.js';
import { QemuImgSnapshots } from './disk-snapshots.js';
import { buildQemuCommand, qemuBinary, type QemuCommand, type QemuHost, type QemuRunOptions } from './argv.js';
import { ensureVars, findUefi, requireUefi, type UefiFirmware } from '../../firmware.js';
import { freeLoopbackPort } from '../../net.js';
import { connectQmp } from './qmp.js';
import { enableBalloonStats } from './qemu-stats.js';
import { QemuVm } from './qemu-vm.js';
import { killPid } from '../vm-process.js';
import { faultPoint } from '../../test-hooks.js';
import { provenQemuPid, spawnVmm } from './vmm.js';
import { loadFromFile } from './migrate.js';
import { recoverOperation } from './recover.js';
import { consumeSavedState } from '../../saved-state.js';
import { fsSockets, shareSidecars, strayShareProcesses } from './shares.js';

const run = promisify(execFile);

/** This host's architecture as the command line builder wants it. */
export const qemuHost: QemuHost = { arch: process.arch === 'arm64' ? 'arm64' : 'x64' };

/** Asks qemu-img for an image's format, once, when a user attaches an existing disk (never blocking bentod). */
export async function detectDiskFormat(file: string): Promise<DiskFormat> {
  let info: { format?: string };
  try {
    // -U: read the header even when a running VM holds the image's lock.
    const { stdout } = await run('qemu-img', ['info', '-U', '--output=json', '--', file], { encoding: 'utf8', timeout: 30_000 });
    info = JSON.parse(stdout) as { format?: string };
  } catch (err) {
    throw new BentoError('invalid-input', `disk: cannot read ${file} with qemu-img: ${errorMessage(err)}`, {
      fields: [{ field: 'disk', message: 'must be an image qemu-img can read' }],
    });
  }
  if (info.format === 'qcow2' || info.format === 'raw') return info.format;
  throw new BentoError('invalid-input', `disk: ${file} is ${info.format ?? 'of unknown format'}; bento takes qcow2 or raw`, {
    fields: [{ field: 'disk', message: 'must be a qcow2 or raw image' }],
  });
}

/** The last non-empty line of a small text file (qemu's stderr), or ''. */
function lastLine(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
  } catch {
    return '';
  }
}

/** The QEMU backend: qemu-system-* under its own bento-vmm monitor (which outlives bentod), driven over QMP. */
export class QemuDriver implements Driver {
  readonly backend = 'qemu' as const;

  /** @param logCap the serial log's size at which bento-vmm rotates it while the VM runs */
  constructor(private readonly logCap: number = SERIAL_LOG_CAP) {}

  readonly capabilities = { pause: true, restart: true, saveRestore: true };

  readonly diskSnapshots = new QemuImgSnapshots();

  availability(): { ok: true } | { ok: false; reason: string } {
    const bin = qemuBinary(qemuHost);
    return findOnPath(bin) !== null ? { ok: true } : { ok: false, reason: `${bin} is not on PATH (install qemu-system)` };
  }

  resolveAccel(spec: VmSpec): Accel {
    return spec.accel === 'auto' ? hostAccel().accel : spec.accel;
  }

  command(spec: VmSpec, dir: string, runOpts: QemuRunOptions = {}): QemuCommand {
    const accel = this.resolveAccel(spec);
    if (accel === 'vz') throw new BentoError('invalid-input', 'accel vz is only for the vz backend');
    const f = vmFiles(dir);
    return buildQemuCommand(spec, { pid: f.qemuPid, qmp: f.qmpSocket, serialSocket: f.serialSocket, consoleSocket: f.consoleSocket }, accel, qemuHost, runOpts);
  }

  /** The UEFI firmware a VM boots with, or null (BIOS, or direct kernel boot); `strict`: missing firmware is a start error. */
  private uefiFor(spec: VmSpec, strict: boolean): UefiFirmware | null {
    if (spec.firmware !== 'uefi' || spec.kernel !== null) return null;
    return strict ? requireUefi(qemuHost.arch) : findUefi(qemuHost.arch);
  }

  /** The run options a start would use (the SSH port is the one given, since it is chosen at start). */
  private runOptions(spec: VmSpec, dir: string, sshPort: number | null, fw: UefiFirmware | null): QemuRunOptions {
    const f = vmFiles(dir);
    return {
      sshPort,
      uefi: fw ? { code: fw.code, vars: f.efiVars } : null,
      seed: spec.cloudInit ? f.seed : null,
      fsSockets: fsSockets(spec, dir),
    };
  }

  describe(spec: VmSpec, dir: string): Record<string, unknown> {
    const rec = readRuntime(vmFiles(dir).state);
    const cmd = this.command(spec, dir, this.runOptions(spec, dir, spec.network === 'none' ? null : (rec?.sshPort ?? 0), this.uefiFor(spec, false)));
    return { command: [cmd.binary, ...cmd.args] };
  }

  async provision(spec: VmSpec, dir: string, opts: { newDiskMiB: number | null }): Promise<VmSpec> {
    const disk = path.join(dir, FILES.disk);
    if (spec.image) {
      // The VM's disk is an overlay: every write lands in the VM folder; the cached base never changes.
      const size = opts.newDiskMiB === null ? [] : [`${opts.newDiskMiB}M`];
      try {
        await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', spec.image.path, '-F', spec.image.format, '--', disk, ...size], { timeout: 60_000 });
      } catch (err) {
        throw new BentoError('io-error', `failed to create the overlay ${disk} on ${spec.image.path}: ${errorMessage(err)}`, { cause: err });
      }
      fs.chmodSync(disk, 0o600);
      return { ...spec, disks: [{ path: disk, format: 'qcow2', owned: true, readonly: false }, ...spec.disks] };
    }
    if (opts.newDiskMiB === null) return spec;
    try {
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '--', disk, `${opts.newDiskMiB}M`]);
    } catch (err) {
      throw new BentoError('io-error', `failed to create ${disk}: ${errorMessage(err)}`, { cause: err });
    }
    fs.chmodSync(disk, 0o600);
    return { ...spec, disks: [{ path: disk, format: 'qcow2', owned: true, readonly: false }, ...spec.disks] };
  }

  async start(spec: VmSpec, dir: string, opts: StartOptions = {}): Promise<RunningVm> {
    const files = vmFiles(dir);
    for (const sock of [files.qmpSocket, files.serialSocket, files.consoleSocket, files.vmmSocket]) {
      if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) {
        throw new BentoError('start-failed', `start-failed: socket path ${sock} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter BENTO_HOME`);
      }
    }
    // The process is the truth: refuse while any qemu of this VM (or its monitor) is alive.
    const alive = this.liveProcess(dir);
    if (alive.alive) throw new BentoError('already-running', `${spec.name} already has a running qemu${alive.pid ? ` (pid ${alive.pid})` : ''}; bento stop --force ${spec.name} kills it`);
    // Leftovers of a previous run would make qemu fail to bind or make us read an old pid.
    for (const f of [files.qmpSocket, files.serialSocket, files.consoleSocket, files.qemuPid, files.vmmSocket]) fs.rmSync(f, { force: true });
    if (spec.cloudInit && !fs.existsSync(files.seed)) {
      throw new BentoError('start-failed', `start-failed: the cloud-init seed ${files.seed} is missing`);
    }
    if (spec.image && !fs.existsSync(spec.image.path)) {
      throw new BentoError('start-failed', `start-failed: the base image ${spec.image.path} (${spec.image.ref}) is missing from the image cache; bento image pull ${spec.image.ref} brings it back only if it has the same checksum`);
    }
    const shares = shareSidecars(spec, dir);
    const sshPort = spec.network === 'none' ? null : await freeLoopbackPort();
    const fw = this.uefiFor(spec, true);
    if (fw) ensureVars(fw, files.efiVars);
    const restore = opts.restoreFrom ?? null;
    if (restore && !fs.existsSync(restore)) throw new BentoError('start-failed', `start-failed: the saved state ${restore} is missing`);
    const runOpts = { ...this.runOptions(spec, dir, sshPort, fw), incoming: restore !== null };
    const cmd = this.command(spec, dir, runOpts);
    const accel = this.resolveAccel(spec);
    // The console the user types into comes first; with a virtio console the UART's early boot
    // output is logged too.
    const consoles = spec.console === 'virtio' ? [files.consoleSocket, files.serialSocket] : [files.serialSocket];
    const { qemuPid: pid } = await spawnVmm({ dir, files, command: cmd, consoles, logCap: this.logCap, sidecars: shares.sidecars });
    // From here on a failure must take down what was started: a qemu nobody tracks holds its disks.
    try {
      faultPoint('start-after-spawn');
      const identity = processIdentity(pid);
      if (!identity) throw new BentoError('start-failed', `start-failed: qemu (pid ${pid}) exited right after starting`);
      const startedAt = new Date();
      // A restore is recorded before it begins, so a bentod that starts after a crash finishes or undoes it.
      const operation = restore ? { kind: 'restore' as const, paused: opts.restorePaused ?? false } : null;
      writeRuntime(files.state, { pid, startTime: identity.startTime, startedAt: startedAt.toISOString(), accel, reason: null, logOffset: 0, sshPort, operation, savedPaused: false });
      const qmp = await connectQmp(files.qmpSocket, { timeoutMs: 10_000 });
      const vm = new QemuVm({ qmp, pid, startedAt, accel, files, consoleDevice: spec.console, sshPort });
      // Before the guest runs, so its first reports come with its boot; a refusal only loses the guest's memory figures.
      await enableBalloonStats(qmp);
      if (opts.loadSnapshot) {
        // Loaded before the guest runs at all, so it wakes at the snapshot's instant.
        await vm.snapshotJob('load', opts.loadSnapshot.tag, opts.loadSnapshot.disks, opts.onProgress);
        // QEMU keeps a loaded VM in `prelaunch`, which a later bentod would roll back as an
        // interrupted start: a paused snapshot is resumed and stopped again at once (back to back
        // on the monitor, so the guest runs for well under a millisecond).
        if (opts.loadSnapshot.paused) await Promise.all([qmp.execute('cont'), qmp.execute('stop')]);
        else await qmp.execute('cont');
        return vm;
      }
      if (restore) {
        await loadFromFile(qmp, files.migrateSocket, restore, opts.onProgress).catch((err: unknown) => {
          // A failed load makes qemu exit; its own words are on its stderr.
          const why = lastLine(files.qemuStderr);
          throw new BentoError('start-failed', `start-failed: restoring ${restore} failed: ${why || errorMessage(err)}`, { cause: err });
        });
        faultPoint('restore-loaded');
        // Gone for good before the guest runs a single instruction: a later start can never bring back stale RAM.
        consumeSavedState(restore);
        faultPoint('restore-consumed');
        if (!opts.restorePaused) await qmp.execute('cont');
        updateRuntime(files.state, { operation: null });
        return vm;
      }
      await qmp.execute('cont');
      return vm;
    } catch (err) {
      await killPid(pid);
      const msg = errorMessage(err);
      throw new BentoError('start-failed', msg.startsWith('start-failed') ? msg : `start-failed: ${msg}`, { cause: err });
    }
  }

  /** Whether any process of this VM is alive: bento-vmm's lock (which its qemu inherits), or a proven qemu pid. */
  liveProcess(dir: string): { alive: boolean; pid: number | null } {
    const files = vmFiles(dir);
    const pid = provenQemuPid(files);
    return { alive: pid !== null || lockHeld(files.vmmLock), pid };
  }

  async adopt(spec: VmSpec, dir: string): Promise<RunningVm | null> {
    const files = vmFiles(dir);
    const pid = provenQemuPid(files);
    if (pid === null) return null;
    const rec = readRuntime(files.state);
    const identity = processIdentity(pid);
    // state.json only supplies the start time, and only when it is about this very process.
    const startedAt = rec && rec.pid === pid && identity && rec.startTime === identity.startTime ? new Date(rec.startedAt) : new Date();
    const accel = rec && rec.pid === pid ? rec.accel : this.resolveAccel(spec);
    const sshPort = rec && rec.pid === pid ? rec.sshPort : null;
    let qmp;
    try {
      qmp = await connectQmp(files.qmpSocket, { timeoutMs: 3_000 });
    } catch (err) {
      return new QemuVm({ qmp: null, qmpError: `its QMP monitor does not answer (${errorMessage(err)})`, pid, startedAt, accel, files, consoleDevice: spec.console, sshPort });
    }
    const vm = new QemuVm({ qmp, pid, startedAt, accel, files, consoleDevice: spec.console, sshPort });
    try {
      const status = await vm.runStatus();
      // A suspend or restore that bentod did not finish ends saved or running (recover.ts).
      const marker = rec && rec.pid === pid ? (rec.operation ?? null) : null;
      if (!(await recoverOperation(vm, files, marker, status))) return null;
      // A start that bentod did not finish (killed between spawn and `cont`) is rolled back.
      if (status === 'prelaunch' || (status === 'inmigrate' && !marker)) {
        await vm.kill();
        const reason = 'start-interrupted: bentod died during the start; rolled back';
        writeRuntime(files.state, { pid, startTime: identity?.startTime ?? '', startedAt: startedAt.toISOString(), accel, reason, logOffset: 0, sshPort });
        return null;
      }
      // QEMU keeps the polling interval; this covers a VM whose start set none (an older bento's).
      await enableBalloonStats(qmp);
    } catch {
      // a monitor that connects but does not answer: the manager shows it as `error`
    }
    return vm;
  }

  /** Kills whatever process of this VM is alive though bentod cannot drive it (rm --force, stop --force). */
  async killStray(dir: string): Promise<void> {
    const files = vmFiles(dir);
    const pid = provenQemuPid(files);
    if (pid !== null) await killPid(pid);
    const holder = holderPid(files.vmmLock);
    if (holder !== null && lockHeld(files.vmmLock)) await killPid(holder);
    // A virtiofsd whose monitor was killed before it could stop it still holds the lock.
    await Promise.all(strayShareProcesses(dir).map((p) => killPid(p)));
  }
}
