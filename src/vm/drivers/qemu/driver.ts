import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { hostAccel } from '../../accel.js';
import { BentoError, errorMessage } from '../../errors.js';
import { FILES, MAX_SOCKET_PATH, vmFiles } from '../../paths.js';
import { isSameProcess, processIdentity } from '../../proc.js';
import { readRuntime, writeRuntime } from '../../runtime.js';
import type { Accel, DiskFormat, VmSpec } from '../../types.js';
import type { Driver, RunningVm } from '../driver.js';
import { buildQemuCommand, qemuBinary, type QemuCommand, type QemuHost } from './argv.js';
import { connectQmp } from './qmp.js';
import { QemuVm } from './qemu-vm.js';

const run = promisify(execFile);

/** This host's architecture as the command line builder wants it. */
export const qemuHost: QemuHost = { arch: process.arch === 'arm64' ? 'arm64' : 'x64' };

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && fs.existsSync(path.join(d, binary)));
}

/** Asks qemu-img for an image's format, once, when a user attaches an existing disk. */
export function detectDiskFormat(file: string): DiskFormat {
  let info: { format?: string };
  try {
    // -U: read the header even when a running VM holds the image's lock.
    const out = execFileSync('qemu-img', ['info', '-U', '--output=json', '--', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    info = JSON.parse(out) as { format?: string };
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


/** The QEMU backend: qemu-system-* daemonized in its own session, driven over QMP. */
export class QemuDriver implements Driver {
  readonly backend = 'qemu' as const;
  readonly capabilities = { pause: true, restart: true, saveRestore: false };

  availability(): { ok: true } | { ok: false; reason: string } {
    const bin = qemuBinary(qemuHost);
    return onPath(bin) ? { ok: true } : { ok: false, reason: `${bin} is not on PATH (install qemu-system)` };
  }

  resolveAccel(spec: VmSpec): Accel {
    return spec.accel === 'auto' ? hostAccel().accel : spec.accel;
  }

  command(spec: VmSpec, dir: string): QemuCommand {
    const accel = this.resolveAccel(spec);
    if (accel === 'vz') throw new BentoError('invalid-input', 'accel vz is only for the vz backend');
    const f = vmFiles(dir);
    return buildQemuCommand(spec, { pid: f.qemuPid, qmp: f.qmpSocket, serialSocket: f.serialSocket, consoleSocket: f.consoleSocket, serialLog: f.serialLog }, accel, qemuHost);
  }

  describe(spec: VmSpec, dir: string): Record<string, unknown> {
    const cmd = this.command(spec, dir);
    return { command: [cmd.binary, ...cmd.args] };
  }

  async provision(spec: VmSpec, dir: string, opts: { newDiskMiB: number | null }): Promise<VmSpec> {
    if (opts.newDiskMiB === null) return spec;
    const disk = path.join(dir, FILES.disk);
    try {
      await run('qemu-img', ['create', '-q', '-f', 'qcow2', '--', disk, `${opts.newDiskMiB}M`]);
    } catch (err) {
      throw new BentoError('io-error', `failed to create ${disk}: ${errorMessage(err)}`, { cause: err });
    }
    fs.chmodSync(disk, 0o600);
    return { ...spec, disks: [{ path: disk, format: 'qcow2', owned: true, readonly: false }, ...spec.disks] };
  }

  async start(spec: VmSpec, dir: string): Promise<RunningVm> {
    const files = vmFiles(dir);
    for (const sock of [files.qmpSocket, files.serialSocket, files.consoleSocket]) {
      if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) {
        throw new BentoError('start-failed', `start-failed: socket path ${sock} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter BENTO_HOME`);
      }
    }
    // Leftovers of a previous run would make qemu fail to bind or make us read an old pid.
    for (const f of [files.qmpSocket, files.serialSocket, files.consoleSocket, files.qemuPid]) fs.rmSync(f, { force: true });
    const cmd = this.command(spec, dir);
    const accel = this.resolveAccel(spec);
    const logOffset = fileSize(files.serialLog);
    try {
      await run(cmd.binary, cmd.args, { timeout: 60_000, cwd: dir });
    } catch (err) {
      const e = err as { stderr?: string; code?: string | number };
      const detail = e.code === 'ENOENT' ? `${cmd.binary} not found` : firstLine(e.stderr) || errorMessage(err);
      throw new BentoError('start-failed', `start-failed: ${detail}`, { cause: err });
    }
    const pid = Number(fs.readFileSync(files.qemuPid, 'utf8').trim());
    const identity = processIdentity(pid);
    if (!identity) throw new BentoError('start-failed', `start-failed: qemu (pid ${pid}) exited right after starting`);
    const startedAt = new Date();
    writeRuntime(files.state, { pid, startTime: identity.startTime, startedAt: startedAt.toISOString(), accel, reason: null, logOffset });
    try {
      const qmp = await connectQmp(files.qmpSocket, { timeoutMs: 10_000 });
      const vm = new QemuVm({ qmp, pid, startedAt, accel, files, consoleDevice: spec.console, logOffset });
      await qmp.execute('cont');
      return vm;
    } catch (err) {
      // A qemu we cannot drive is useless and holds its disks: take it down rather than orphan it.
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
      throw new BentoError('start-failed', `start-failed: could not drive qemu over QMP: ${errorMessage(err)}`, { cause: err });
    }
  }

  async adopt(spec: VmSpec, dir: string): Promise<RunningVm | null> {
    const files = vmFiles(dir);
    const rec = readRuntime(files.state);
    if (!rec || !isSameProcess(rec, files.qmpSocket)) return null;
    const qmp = await connectQmp(files.qmpSocket, { timeoutMs: 5_000 });
    return new QemuVm({ qmp, pid: rec.pid, startedAt: new Date(rec.startedAt), accel: rec.accel, files, consoleDevice: spec.console, logOffset: rec.logOffset });
  }
}

function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n').map((l) => l.trim()).find(Boolean) ?? '';
}
