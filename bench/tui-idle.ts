/**
 * Idle CPU of the TUI with 100 VMs and nothing changing (goal: under 1% of a core): `node
 * dist/bento.js` in a pseudo-terminal against a real bentod with 100 stopped VM definitions; the
 * TUI's own CPU time (from /proc) over 10 s, once the first frame is up. Nothing polls bentod: the
 * only wake-ups are bentod's SSE keep-alive every 15 s. Linux only.
 *
 *   npm run build && npx tsx bench/tui-idle.ts
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ptyModule from 'node-pty';
import { BentoClient } from '../src/api/client.js';
import { removeHome } from './lib.js';

const pty = (ptyModule as unknown as { default?: typeof ptyModule }).default ?? ptyModule;
const root = path.resolve(import.meta.dirname, '..');
// BENTO_DIST: a copy of dist/ that a concurrent `npm run build` cannot remove mid-run.
const bento = path.join(process.env.BENTO_DIST ?? path.join(root, 'dist'), 'bento.js');
if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
const N = Number(process.env.VMS ?? 100);
const SECONDS = Number(process.env.SECONDS ?? 10);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-idle-'));
const env = { ...process.env, BENTO_HOME: home } as Record<string, string>;
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const TICK = 100; // clock ticks per second (getconf CLK_TCK on Linux)

/** CPU seconds a process has used, from /proc/PID/stat (utime + stime). */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

try {
  execFileSync('node', [bento, 'ls'], { env });
  const client = new BentoClient(path.join(home, 'bentod.sock'));
  const kernel = path.join(home, 'vmlinuz');
  fs.writeFileSync(kernel, '');
  for (let i = 0; i < N; i++) await client.create({ name: `vm-${String(i).padStart(3, '0')}`, kernel });
  const p = pty.spawn('node', [bento], { name: 'xterm-256color', cols: 120, rows: 40, env });
  let out = '';
  let bytes = 0;
  p.onData((d) => {
    out += d;
    bytes += d.length;
  });
  while (!out.includes(`1/${N}`)) await sleep(20);
  await sleep(1000); // let the details pane open its log stream
  const before = cpuSeconds(p.pid);
  const bytesBefore = bytes;
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const used = cpuSeconds(p.pid) - before;
  const wall = (performance.now() - t0) / 1000;
  p.write('q');
  await sleep(300);
  p.kill();
  console.log(`bench tui idle: ${N} stopped VMs, ${wall.toFixed(1)} s, 120x40 pty`);
  console.log(`  CPU of the TUI   ${((used / wall) * 100).toFixed(2)}% of a core   (goal: under 1%; /proc resolution ${1000 / TICK} ms)`);
  console.log(`  bytes written    ${bytes - bytesBefore} (no frame while nothing changes)`);
} finally {
  removeHome(home);
}
process.exit(0);
