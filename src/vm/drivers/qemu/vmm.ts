import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { z } from 'zod';
import { vmmBinary } from '../../../native/vmm-path.js';
import { BentoError } from '../../errors.js';
import type { VmFiles } from '../../paths.js';
import { processAlive, processArgv } from '../../proc.js';
import type { QemuCommand } from './argv.js';

/** How long bento-vmm gets to start qemu and connect its consoles. */
const READY_TIMEOUT_MS = 60_000;

/** What bento-vmm reports once qemu runs paused with its consoles connected. */
export interface VmmStarted {
  qemuPid: number;
  vmmPid: number;
}

/**
 * Starts bento-vmm in its own session (so it outlives bentod) with qemu as its child, and waits for
 * its "ready PID" line: the consoles are then connected and the guest may run. On failure nothing is
 * left running: bento-vmm kills its qemu itself when it gives up, and exits.
 */
export function spawnVmm(opts: { dir: string; files: VmFiles; command: QemuCommand; consoles: string[]; logCap: number; sidecars?: Sidecar[] }): Promise<VmmStarted> {
  const argv = [opts.dir, String(opts.logCap), ...opts.consoles, ...sidecarArgs(opts.sidecars ?? []), '--', opts.command.binary, ...opts.command.args];
  return new Promise((resolve, reject) => {
    const child = spawn(vmmBinary(), argv, { cwd: opts.dir, detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    let settled = false;
    const settle = (err: BentoError | null, value?: VmmStarted): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout?.destroy();
      child.unref();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => {
      try {
        // Its session holds qemu too: kill both.
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      settle(new BentoError('start-failed', `start-failed: bento-vmm did not report ready within ${READY_TIMEOUT_MS / 1000} s`));
    }, READY_TIMEOUT_MS);
    child.on('error', (err) => settle(new BentoError('start-failed', `start-failed: cannot run bento-vmm: ${err.message}`, { cause: err })));
    child.on('exit', (code, signal) => {
      const why = firstLine(readText(opts.files.qemuStderr)) || `bento-vmm exited (${signal ?? `status ${code}`})`;
      settle(new BentoError('start-failed', `start-failed: ${why}`));
    });
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      const line = out.slice(0, nl);
      const ready = /^ready (\d+)$/.exec(line);
      if (ready) {
        settle(null, { qemuPid: Number(ready[1]), vmmPid: child.pid! });
        return;
      }
      const detail = line.replace(/^error /, '');
      const stderr = firstLine(readText(opts.files.qemuStderr));
      settle(new BentoError('start-failed', `start-failed: ${stderr || detail}`));
    });
  });
}

/** A process bento-vmm runs beside qemu (a virtiofsd): started first, qemu starts once it listens on `socket`. */
export interface Sidecar {
  socket: string;
  argv: string[];
}

/** bento-vmm's `--sidecar SOCKET ARGC ARG...` groups (count-prefixed, so any argument may follow). */
export function sidecarArgs(sidecars: Sidecar[]): string[] {
  return sidecars.flatMap((s) => ['--sidecar', s.socket, String(s.argv.length), ...s.argv]);
}

const exitSchema = z.object({
  pid: z.number().int(),
  code: z.number().int().nullable(),
  signal: z.string().nullable(),
  at: z.string(),
});

/** How qemu ended, as bento-vmm recorded it in exit.json (it is qemu's parent and reaps it). */
export type QemuExit = z.infer<typeof exitSchema>;

/** Reads exit.json; null while qemu runs or when the file is missing or unreadable. */
export function readExit(file: string): QemuExit | null {
  try {
    const parsed = exitSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/**
 * The pid of this VM's qemu, proven from the process itself: qemu.pid names a live, non-zombie
 * process whose command line holds this VM's own QMP socket path. Null when there is none.
 */
export function provenQemuPid(files: VmFiles): number | null {
  const pid = Number(readText(files.qemuPid).trim());
  if (!Number.isSafeInteger(pid) || pid <= 0 || !processAlive(pid)) return null;
  const argv = processArgv(pid);
  return argv?.some((a) => a.includes(files.qmpSocket)) ? pid : null;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function firstLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
}
