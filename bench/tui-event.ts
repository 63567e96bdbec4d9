/**
 * State change in QEMU to the new state on the TUI's screen (goal: under 50 ms). A test-guest VM
 * runs under a real bentod; the bench pauses and resumes it through the API, over and over, and
 * times each QMP-driven state event from the moment bentod publishes it (its SSE stream, read by the
 * bench itself as a second client) to the frame in which `node dist/bento.js`, running in a pty,
 * shows the new state.
 *
 *   npm run build && npm run guest && npx tsx bench/tui-event.ts
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ptyModule from 'node-pty';
import { BentoClient } from '../src/api/client.js';
import { median, ms, percentile, removeHome } from './lib.js';

const pty = (ptyModule as unknown as { default?: typeof ptyModule }).default ?? ptyModule;
const root = path.resolve(import.meta.dirname, '..');
// BENTO_DIST: a copy of dist/ that a concurrent `npm run build` cannot remove mid-run.
const bento = path.join(process.env.BENTO_DIST ?? path.join(root, 'dist'), 'bento.js');
const guest = process.env.BENTO_GUEST_DIR ?? path.join(os.homedir(), '.cache/bento/test-guest');
if (!fs.existsSync(bento) || !fs.existsSync(path.join(guest, 'READY'))) throw new Error('run `npm run build` and `npm run guest` first');
const ROUNDS = Number(process.env.ROUNDS ?? 40);
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ev-'));
const env = { ...process.env, BENTO_HOME: home } as Record<string, string>;
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
// The state cell as the table draws it, escapes aside: glyph, space, state.
const shown = (screen: string, state: string): boolean => screen.includes(`${state === 'paused' ? '‖' : '●'} ${state}`);

try {
  execFileSync('node', [bento, 'ls'], { env });
  const client = new BentoClient(path.join(home, 'bentod.sock'));
  await client.create({ name: 'ev', kernel: path.join(guest, 'vmlinuz'), initrd: path.join(guest, 'initrd.img'), cmdline: 'console=ttyS0', memory: '256M' });
  await client.start('ev');
  const published = new Map<string, number>();
  const stop = await client.events({ onEvent: (e) => published.set(`${e.state}`, performance.now()) });
  const p = pty.spawn('node', [bento], { name: 'xterm-256color', cols: 120, rows: 40, env });
  let chunk = '';
  let onChunk: (() => void) | null = null;
  p.onData((d) => {
    chunk = d;
    onChunk?.();
  });
  await new Promise<void>((resolve) => {
    onChunk = () => shown(chunk, 'running') && resolve();
  });
  await sleep(500);
  const lat: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const target = i % 2 === 0 ? 'paused' : 'running';
    published.delete(target);
    const onScreen = new Promise<number>((resolve) => {
      onChunk = () => shown(chunk, target) && resolve(performance.now());
    });
    await (target === 'paused' ? client.pause('ev') : client.resume('ev'));
    const at = await onScreen;
    const from = published.get(target);
    if (from !== undefined) lat.push(at - from);
    await sleep(60);
  }
  stop();
  p.write('q');
  await sleep(300);
  p.kill();
  console.log(`bench tui event: ${ROUNDS} pause/resume state events (QMP STOP/RESUME), real qemu (${lat.length} timed)`);
  console.log(`  event published by bentod -> on the TUI's screen: p50 ${ms(median(lat))}  p95 ${ms(percentile(lat, 95))}  max ${ms(Math.max(...lat))}   (goal: under 50 ms)`);
} finally {
  try {
    execFileSync('node', [bento, 'stop', 'ev', '--force'], { env, stdio: 'ignore' });
  } catch {
    // not running
  }
  removeHome(home);
}
process.exit(0);
