import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type Result } from 'execa';
import { BentoClient } from '../../src/api/client.js';

/** The repository root. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The bundled CLI the tests drive, as users run it. */
export const BENTO = path.join(ROOT, 'dist', 'bento.js');

/** The test guest's files; fails with the command to run when they are missing. */
export function guest(): { kernel: string; initrd: string } {
  const dir = process.env.BENTO_GUEST_DIR ?? path.join(os.homedir(), '.cache', 'bento', 'test-guest');
  const kernel = path.join(dir, 'vmlinuz');
  const initrd = path.join(dir, 'initrd.img');
  if (!fs.existsSync(path.join(dir, 'READY')) || !fs.existsSync(kernel) || !fs.existsSync(initrd)) {
    throw new Error(`the test guest is missing in ${dir}: run \`npm run guest\` (scripts/build-test-guest.sh) first`);
  }
  if (!fs.existsSync(BENTO)) throw new Error(`${BENTO} is missing: run \`npm run build\` first`);
  return { kernel, initrd };
}

/** A fresh BENTO_HOME with a short path (socket paths must stay under 104 bytes). */
export function tempHome(): string {
  return fs.mkdtempSync('/tmp/bt-');
}

/** Runs `bento ARGS` against a home; never throws on a non-zero exit. */
export function bento(
  home: string,
  args: string[],
  opts: { timeout?: number; input?: string; env?: Record<string, string> } = {},
): Promise<Result<{ reject: false }>> {
  return execa('node', [BENTO, ...args], {
    env: { BENTO_HOME: home, ...opts.env },
    reject: false,
    timeout: opts.timeout ?? 120_000,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  }) as unknown as Promise<Result<{ reject: false }>>;
}

/** A client for the home's bentod (which must be running). */
export function client(home: string): BentoClient {
  return new BentoClient(path.join(home, 'bentod.sock'));
}

/** Creates a VM that boots the test guest, through the CLI. */
export async function createGuest(
  home: string,
  name: string,
  opts: { acpi?: 'poweroff' | 'ignore'; virtio?: boolean; extra?: string[] } = {},
): Promise<void> {
  const g = guest();
  // With the virtio console the guest runs a second shell on hvc0, which bentod then streams.
  const console = opts.virtio ? ['--console', 'virtio'] : [];
  const cmdline = `console=ttyS0 bento.acpi=${opts.acpi ?? 'poweroff'}${opts.virtio ? ' bento.console=hvc0' : ''}`;
  const r = await bento(home, [
    'create', name, '--kernel', g.kernel, '--initrd', g.initrd, ...console,
    '--cmdline', cmdline, '--memory', '256M', '--accel', 'tcg', '--network', 'restricted',
    ...(opts.extra ?? []),
  ]);
  if (r.exitCode !== 0) throw new Error(`bento create ${name} failed: ${r.stderr}`);
}

/** Polls until fn returns a truthy value; fails naming what it waited for. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 60_000, stepMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** A VM's serial log as text ('' before it exists). */
export function serialLog(home: string, name: string): string {
  try {
    return fs.readFileSync(path.join(home, 'vms', name, 'serial.log'), 'utf8');
  } catch {
    return '';
  }
}

/** Waits until the serial log contains `text` (counting occurrences after `after` characters). */
export function waitForLog(home: string, name: string, text: string, timeoutMs = 90_000, after = 0): Promise<boolean> {
  return waitFor(`"${text}" in ${name}'s serial log`, () => serialLog(home, name).indexOf(text, after) >= 0, timeoutMs, 200);
}

/** Types into the guest's console through bentod's console API (taking the input with force). */
export async function typeSerial(home: string, name: string, text: string): Promise<void> {
  const { WebSocket } = await import('ws');
  const sock = path.join(home, 'bentod.sock');
  await new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(`ws+unix://${sock}:/api/vms/${name}/console?force=1&scrollback=0`);
    ws.on('open', () => {
      ws.send(Buffer.from(text), { binary: true }, () => setTimeout(() => (ws.close(), resolve()), 200));
    });
    ws.on('unexpected-response', (_req, res) => reject(new Error(`console refused: ${res.statusCode}`)));
    ws.on('error', reject);
  });
}

/** Live (non-zombie) processes whose program is `program` (a basename prefix) and whose command line mentions `marker`. */
export function processPids(program: string, marker: string): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
      if (path.basename(argv[0] ?? '').startsWith(program) && argv.some((a) => a.includes(marker)) && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z') {
        out.push(Number(p));
      }
    } catch {
      // raced with an exit
    }
  }
  return out;
}

/** Pids of qemu processes whose command line mentions `marker` (bento-vmm monitors are not counted). */
export function qemuPids(marker: string): number[] {
  return processPids('qemu-system', marker);
}

/** Pids of bento-vmm monitors whose command line mentions `marker`. */
export function vmmPids(marker: string): number[] {
  return processPids('bento-vmm', marker);
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Kills bentod and every qemu of a home, then removes the home. */
export async function cleanupHome(home: string): Promise<void> {
  try {
    const pid = Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8'));
    if (pid) killPid(pid);
  } catch {
    // no daemon
  }
  for (const pid of [...vmmPids(home), ...qemuPids(home)]) killPid(pid);
  await new Promise((r) => setTimeout(r, 200));
  fs.rmSync(home, { recursive: true, force: true });
}

/** A listing of every file under a folder with its size and mtime, to prove nothing changed. */
export function treeSnapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        out.push(`${p}/`);
        walk(p);
      } else {
        const st = fs.statSync(p);
        out.push(`${p} ${st.size} ${st.mtimeMs}`);
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

/** The pid in the home's bentod.pid, or null. */
export function daemonPid(home: string): number | null {
  try {
    const n = Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8').trim());
    return n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** Waits until a pid is gone (or a zombie). */
export function waitGone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  return waitFor(`pid ${pid} to exit`, () => {
    try {
      return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    } catch {
      return true;
    }
  }, timeoutMs, 50);
}
