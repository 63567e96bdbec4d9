/**
 * First frame of the TUI: `node dist/bento.js` in a pseudo-terminal until the VM table is on screen
 * with bentod's data, against `node -e 0` on the same machine (goal: at most 3x). bentod is already
 * running, with 20 VMs defined, as when a user opens bento again. Also reported: the first bytes
 * Ink writes (the screen before the data arrives), and quitting with q.
 *
 *   npm run build && npx tsx bench/tui-first-frame.ts
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ptyModule from 'node-pty';
import { median, ms, timeCommand, removeHome } from './lib.js';

const pty = (ptyModule as unknown as { default?: typeof ptyModule }).default ?? ptyModule;
const root = path.resolve(import.meta.dirname, '..');
// BENTO_DIST: a copy of dist/ that a concurrent `npm run build` cannot remove mid-run.
const bento = path.join(process.env.BENTO_DIST ?? path.join(root, 'dist'), 'bento.js');
if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
const home = fs.mkdtempSync('/tmp/bench-tui-');
const env = { ...process.env, BENTO_HOME: home } as Record<string, string>;
const RUNS = Number(process.env.RUNS ?? 15);
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

/** One TUI start: ms to the first output, to the table with data, and to exit after q. */
async function once(): Promise<{ first: number; table: number; quit: number }> {
  const t0 = performance.now();
  const p = pty.spawn('node', [bento], { name: 'xterm-256color', cols: 120, rows: 40, env });
  let out = '';
  let first = 0;
  let table = 0;
  p.onData((d) => {
    first ||= performance.now() - t0;
    out += d;
    if (!table && out.includes('1/20') && out.includes('vm19')) table = performance.now() - t0;
  });
  const exited = new Promise<number>((resolve) => p.onExit(() => resolve(performance.now())));
  const deadline = Date.now() + 20_000;
  while (!table) {
    if (Date.now() > deadline) throw new Error(`no table on screen:\n${out}`);
    await sleep(2);
  }
  await sleep(150);
  const tq = performance.now();
  p.write('q');
  const end = await Promise.race([exited, sleep(5000).then(() => -1)]);
  if (end < 0) {
    p.kill();
    throw new Error('the TUI did not exit after q');
  }
  return { first, table, quit: end - tq };
}

try {
  execFileSync('node', [bento, 'ls'], { env }); // starts bentod
  for (let i = 0; i < 20; i++) execFileSync('node', [bento, 'create', `vm${String(i).padStart(2, '0')}`, '--disk-size', '16M'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  await once(); // warm the page cache
  const base: number[] = [];
  const runs: { first: number; table: number; quit: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    base.push(timeCommand('node', ['-e', '0']));
    runs.push(await once());
  }
  const b = median(base);
  const table = median(runs.map((r) => r.table));
  console.log(`bench tui first frame: ${RUNS} runs each, 20 VMs defined, bentod running, 120x40 pty`);
  console.log(`  node -e 0                 median ${ms(b)}`);
  console.log(`  first bytes on screen     median ${ms(median(runs.map((r) => r.first)))}`);
  console.log(`  table with bentod's data  median ${ms(table)}`);
  console.log(`  ratio                     ${(table / b).toFixed(2)}x   (goal: at most 3x)`);
  console.log(`  q to exit                 median ${ms(median(runs.map((r) => r.quit)))}`);
} finally {
  removeHome(home);
}
process.exit(0);
