// bento start to the guest's ready marker, against the same qemu command line started by hand
// (goal: bento adds under 100 ms). Runs alternate so machine drift hits both alike.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BentoClient } from '../src/api/client.js';
import { median, ms, removeHome } from './lib.js';

const root = path.resolve(import.meta.dirname, '..');
const bento = path.join(root, 'dist', 'bento.js');
const guestDir = process.env.BENTO_GUEST_DIR ?? path.join(os.homedir(), '.cache/bento/test-guest');
if (!fs.existsSync(bento) || !fs.existsSync(path.join(guestDir, 'READY'))) throw new Error('run `npm run build` and `npm run guest` first');
const home = fs.mkdtempSync('/tmp/bench-boot-');
const env = { ...process.env, BENTO_HOME: home };
const MARKER = 'BENTO-GUEST-READY';
const run = (args: string[]): string => execFileSync('node', [bento, ...args], { env, encoding: 'utf8' });

async function untilMarker(log: string, t0: bigint, from: number): Promise<number> {
  for (;;) {
    try {
      if (fs.readFileSync(log, 'latin1').indexOf(MARKER, from) >= 0) return Number(process.hrtime.bigint() - t0) / 1e6;
    } catch {
      // not created yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

try {
  run(['create', 'b', '--kernel', `${guestDir}/vmlinuz`, '--initrd', `${guestDir}/initrd.img`, '--cmdline', 'console=ttyS0', '--memory', '256M', '--accel', 'tcg']);
  const command = (JSON.parse(run(['inspect', 'b', '--json'])) as { driver: { command: string[] } }).driver.command;
  const vmDir = path.join(home, 'vms', 'b');
  const bareDir = fs.mkdtempSync('/tmp/bench-bare-');
  // By hand: the same argv in another folder, minus -S (nobody would send `cont`).
  const bare = command.map((a) => a.replaceAll(vmDir, bareDir)).filter((a) => a !== '-S');
  const n = Number(process.env.RUNS ?? 5);
  const withBento: number[] = [];
  const viaApi: number[] = [];
  const byHand: number[] = [];
  const api = new BentoClient(path.join(home, 'bentod.sock'));
  for (let i = 0; i < n; i++) {
    const log = path.join(vmDir, 'serial.log');
    await new Promise((r) => setTimeout(r, 300));
    const from = fs.existsSync(log) ? fs.statSync(log).size : 0;
    let t0 = process.hrtime.bigint();
    spawn('node', [bento, 'start', 'b'], { env, stdio: 'ignore' });
    withBento.push(await untilMarker(log, t0, from));
    run(['stop', 'b', '--force']);

    // The same start through the API from a process already running (a script, the TUI).
    await new Promise((r) => setTimeout(r, 300));
    const from2 = fs.statSync(log).size;
    t0 = process.hrtime.bigint();
    void api.start('b');
    viaApi.push(await untilMarker(log, t0, from2));
    run(['stop', 'b', '--force']);

    fs.rmSync(path.join(bareDir, 'serial.log'), { force: true });
    t0 = process.hrtime.bigint();
    spawn(bare[0]!, bare.slice(1), { stdio: 'ignore' });
    byHand.push(await untilMarker(path.join(bareDir, 'serial.log'), t0, 0));
    process.kill(Number(fs.readFileSync(path.join(bareDir, 'qemu.pid'), 'utf8')), 'SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
  }
  const a = median(withBento);
  const c = median(viaApi);
  const b = median(byHand);
  console.log(`bench boot: ${n} boots each under ${command.includes('tcg') ? 'TCG' : 'an accelerator'}, spawn to "${MARKER}"`);
  console.log(`  qemu by hand    median ${ms(b)}   (${byHand.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`  bento start     median ${ms(a)}   (${withBento.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`  API start       median ${ms(c)}   (${viaApi.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`  overhead: bento start ${ms(a - b)} (of which node's own start-up is most), API ${ms(c - b)}   (goal: under 100 ms)`);
  fs.rmSync(bareDir, { recursive: true, force: true });
} finally {
  removeHome(home);
}
