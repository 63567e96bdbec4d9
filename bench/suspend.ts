// Suspend to disk against a cold boot of the same guest: how long `suspend` takes and how big the state
// is, and how long until the guest's shell answers after a resume (start of a saved VM) versus after a
// cold boot. Runs alternate so machine drift hits both alike. Run standalone (`npx tsx bench/suspend.ts`
// after `npm run build`) or call suspendSection() from another bench.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BentoClient } from '../src/api/client.js';
import { typeSerial } from '../test/helpers/bento.js';
import { median, ms, removeHome } from './lib.js';

const root = path.resolve(import.meta.dirname, '..');
const bentoJs = path.join(root, 'dist', 'bento.js');
const guestDir = process.env.BENTO_GUEST_DIR ?? path.join(os.homedir(), '.cache/bento/test-guest');

/** Waits until `text` is in the file after byte `from`; returns the milliseconds since t0. */
async function until(file: string, text: string, from: number, t0: bigint, timeoutMs = 180_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = fs.openSync(file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        const buf = Buffer.alloc(Math.max(0, size - from));
        fs.readSync(fd, buf, 0, buf.length, from);
        if (buf.toString('latin1').includes(text)) return Number(process.hrtime.bigint() - t0) / 1e6;
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // not created yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${text} in ${file}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Types `echo` of a fresh token until the guest's shell prints it back; milliseconds since t0. */
async function shellAnswers(home: string, log: string, from: number, t0: bigint, n: number): Promise<number> {
  const token = `PONG-${n}-${process.pid}`;
  // The echo of what is typed holds `PONG-$((…))`; only the shell's answer holds the number itself.
  const cmd = `echo PONG-$((${n}))-${process.pid}\n`;
  for (;;) {
    await typeSerial(home, 'b', cmd);
    try {
      return await until(log, token, from, t0, 1_500);
    } catch {
      // typed before the shell was there: type again
    }
  }
}

/** Runs the bench and prints its figures (a section of the snapshot bench, or the whole of this one). */
export async function suspendSection(opts: { runs?: number } = {}): Promise<void> {
  if (!fs.existsSync(bentoJs) || !fs.existsSync(path.join(guestDir, 'READY'))) throw new Error('run `npm run build` and `npm run guest` first');
  const runs = opts.runs ?? Number(process.env.RUNS ?? 3);
  const home = fs.mkdtempSync('/tmp/bench-susp-');
  const api = (): BentoClient => new BentoClient(path.join(home, 'bentod.sock'));
  const { execFileSync } = await import('node:child_process');
  const run = (args: string[]): string => execFileSync('node', [bentoJs, ...args], { env: { ...process.env, BENTO_HOME: home }, encoding: 'utf8' });
  try {
    run(['create', 'b', '--kernel', `${guestDir}/vmlinuz`, '--initrd', `${guestDir}/initrd.img`, '--cmdline', 'console=ttyS0', '--memory', '256M', '--accel', 'tcg', '--network', 'none']);
    const log = path.join(home, 'vms', 'b', 'serial.log');
    const cold: number[] = [];
    const resume: number[] = [];
    const suspend: number[] = [];
    const sizes: number[] = [];
    let n = 0;
    for (let i = 0; i < runs; i++) {
      // Cold boot: start to the shell answering.
      let from = fs.existsSync(log) ? fs.statSync(log).size : 0;
      let t0 = process.hrtime.bigint();
      await api().start('b', { discard: true });
      await until(log, 'BENTO-GUEST-READY', from, t0);
      cold.push(await shellAnswers(home, log, from, t0, ++n));
      // Suspend the booted guest.
      t0 = process.hrtime.bigint();
      const saved = await api().suspend('b');
      suspend.push(Number(process.hrtime.bigint() - t0) / 1e6);
      sizes.push(saved.savedState?.bytes ?? 0);
      // Resume: start of the saved VM to the shell answering.
      from = fs.statSync(log).size;
      t0 = process.hrtime.bigint();
      await api().start('b');
      resume.push(await shellAnswers(home, log, from, t0, ++n));
      await api().stop('b', { force: true });
    }
    const c = median(cold);
    const r = median(resume);
    console.log(`bench suspend: ${runs} runs, test guest with 256 MiB under TCG, start to the guest's shell answering`);
    console.log(`  cold boot       median ${ms(c)}   (${cold.map((x) => x.toFixed(0)).join(' ')})`);
    console.log(`  resume          median ${ms(r)}   (${resume.map((x) => x.toFixed(0)).join(' ')})   ${(c / r).toFixed(1)}x faster than a cold boot`);
    console.log(`  suspend         median ${ms(median(suspend))}   (${suspend.map((x) => x.toFixed(0)).join(' ')}); saved state ${(median(sizes) / 2 ** 20).toFixed(1)} MiB`);
  } finally {
    removeHome(home);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await suspendSection();
