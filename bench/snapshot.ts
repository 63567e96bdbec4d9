// Snapshot and restore times through bento against the same operation done by hand on an identical
// VM: QMP's snapshot-save / snapshot-load jobs for a running guest, `qemu-img snapshot -c/-a` for a
// stopped one; and suspend + resume against a cold boot of the same guest (bench/suspend.ts). bentod holds the VM's only QMP connection (a QMP socket serves one client at a time),
// so the by-hand baseline runs on a second qemu started from `bento inspect --json`'s command line.
//
// Run: npm run build && npx tsx bench/snapshot.ts [SECTION…]   (RUNS=5 by default)
// Sections run in the order named (default: all). Add a section: a name and a function in SECTIONS;
// it gets the shared Bench (home, the bento VM, the by-hand copy) and prints its own lines.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BentoClient } from '../src/api/client.js';
import { connectQmp, type QmpClient } from '../src/vm/drivers/qemu/qmp.js';
import { median, ms, removeHome } from './lib.js';
import { suspendSection } from './suspend.js';

const root = path.resolve(import.meta.dirname, '..');
const bento = path.join(root, 'dist', 'bento.js');
const guestDir = process.env.BENTO_GUEST_DIR ?? path.join(os.homedir(), '.cache/bento/test-guest');
const MARKER = 'BENTO-GUEST-READY';
const RUNS = Number(process.env.RUNS ?? 5);

/** What every section shares: a bento VM and a by-hand qemu with the same command line. */
export interface Bench {
  home: string;
  name: string;
  vmDir: string;
  bareDir: string;
  /** The bento VM's qemu command line with its folder replaced by bareDir and without -S. */
  bare: string[];
  runs: number;
  /** Runs the built CLI; throws on failure. */
  cli(args: string[]): string;
  api: BentoClient;
}

const now = (): bigint => process.hrtime.bigint();
const since = (t0: bigint): number => Number(now() - t0) / 1e6;
const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec));

/** Waits until a serial chardev socket has printed the ready marker. */
async function untilReadyOnSocket(sock: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(sock)) {
    if (Date.now() > deadline) throw new Error(`${sock} never appeared`);
    await sleep(20);
  }
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(sock);
    let seen = '';
    const timer = setTimeout(() => (s.destroy(), reject(new Error(`no ${MARKER} on ${sock}`))), timeoutMs);
    s.on('data', (c: Buffer) => {
      seen = (seen + c.toString('latin1')).slice(-4096);
      if (seen.includes(MARKER)) {
        clearTimeout(timer);
        // Keep reading (and dropping) the serial output, as bento-vmm does, so the guest never blocks on it.
        s.removeAllListeners('data');
        s.on('data', () => undefined);
        resolve();
      }
    });
    s.on('error', reject);
  });
}

/** One QMP snapshot job by hand: start it, wait for its `concluded` event, read any error, dismiss it. */
async function jobByHand(qmp: QmpClient, command: string, args: Record<string, unknown>): Promise<void> {
  const id = String(args['job-id']);
  const concluded = new Promise<void>((resolve) => {
    const off = qmp.onEvent((ev) => {
      if (ev.event === 'JOB_STATUS_CHANGE' && ev.data?.id === id && ev.data.status === 'concluded') {
        off();
        resolve();
      }
    });
  });
  await qmp.execute(command, args, { timeoutMs: 600_000 });
  await concluded;
  const jobs = await qmp.execute<{ id: string; error?: string }[]>('query-jobs');
  await qmp.execute('job-dismiss', { id });
  const err = jobs.find((j) => j.id === id)?.error;
  if (err) throw new Error(`${command}: ${err}`);
}

/** Prints one comparison line pair and the ratio. */
function report(what: string, viaBento: number[], byHand: number[], handLabel: string): void {
  const a = median(viaBento);
  const b = median(byHand);
  console.log(`  ${what}`);
  console.log(`    ${handLabel.padEnd(28)} median ${ms(b).padStart(10)}   (${byHand.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`    ${'bento'.padEnd(28)} median ${ms(a).padStart(10)}   (${viaBento.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`    ratio ${(a / b).toFixed(2)}x, overhead ${ms(a - b)}`);
}

/** Running guest: `bento snapshot` / `bento snapshot restore` against QMP snapshot-save / snapshot-load by hand. */
async function running(b: Bench): Promise<void> {
  const log = path.join(b.vmDir, 'serial.log');
  const from = fs.existsSync(log) ? fs.statSync(log).size : 0;
  b.cli(['start', b.name]);
  while (!fs.readFileSync(log, 'latin1').includes(MARKER, from)) await sleep(100);
  const bare = spawn(b.bare[0]!, b.bare.slice(1), { stdio: 'ignore' });
  let qmp: QmpClient | null = null;
  try {
    await untilReadyOnSocket(path.join(b.bareDir, 'serial.sock'));
    qmp = await connectQmp(path.join(b.bareDir, 'qmp.sock'));
    const blocks = await qmp.execute<{ device: string; inserted?: { 'node-name': string } }[]>('query-block');
    const node = blocks.find((x) => x.device === 'disk0')?.inserted?.['node-name'];
    if (!node) throw new Error('the by-hand qemu has no disk0');
    const save = { bento: [] as number[], hand: [] as number[] };
    const load = { bento: [] as number[], hand: [] as number[] };
    const api = { save: [] as number[], load: [] as number[] };
    for (let i = 0; i < b.runs; i++) {
      const tag = `bench-${i}`;
      let t0 = now();
      b.cli(['snapshot', b.name, tag]);
      save.bento.push(since(t0));
      t0 = now();
      await jobByHand(qmp, 'snapshot-save', { 'job-id': `s${i}`, tag, vmstate: node, devices: [node] });
      save.hand.push(since(t0));
      await sleep(300);
      t0 = now();
      b.cli(['snapshot', 'restore', b.name, tag]);
      load.bento.push(since(t0));
      t0 = now();
      await jobByHand(qmp, 'snapshot-load', { 'job-id': `l${i}`, tag, vmstate: node, devices: [node] });
      load.hand.push(since(t0));
      // Untimed: each snapshot holds the guest's RAM; the disks should not grow run after run.
      b.cli(['snapshot', 'rm', b.name, tag]);
      await jobByHand(qmp, 'snapshot-delete', { 'job-id': `d${i}`, tag, devices: [node] });
      // The same through the API from a running process (the TUI, a script): no CLI start-up.
      await sleep(300);
      t0 = now();
      await b.api.snapshot(b.name, `api-${i}`);
      api.save.push(since(t0));
      await sleep(300);
      t0 = now();
      await b.api.restoreSnapshot(b.name, `api-${i}`);
      api.load.push(since(t0));
      await b.api.removeSnapshot(b.name, `api-${i}`);
      await sleep(300);
    }
    console.log(`bench snapshot/running: ${b.runs} runs each, 256 MiB guest under TCG, 64 MiB qcow2 disk`);
    report('snapshot (disks + RAM)', save.bento, save.hand, 'QMP snapshot-save by hand');
    report('restore (disks + RAM)', load.bento, load.hand, 'QMP snapshot-load by hand');
    console.log(`    API snapshot (no CLI start)  median ${ms(median(api.save)).padStart(10)}   (${api.save.map((x) => x.toFixed(0)).join(' ')}), ${(median(api.save) / median(save.hand)).toFixed(2)}x by hand`);
    console.log(`    API restore (no CLI start)   median ${ms(median(api.load)).padStart(10)}   (${api.load.map((x) => x.toFixed(0)).join(' ')}), ${(median(api.load) / median(load.hand)).toFixed(2)}x by hand`);
  } finally {
    qmp?.close();
    bare.kill('SIGKILL');
    b.cli(['stop', b.name, '--force']);
    await sleep(300);
  }
}

/** Stopped VM: `bento snapshot` / `restore` against `qemu-img snapshot -c` / `-a` on the same kind of disk. */
async function stopped(b: Bench): Promise<void> {
  const disk = path.join(b.bareDir, 'disk.qcow2');
  const img = (...args: string[]): void => void execFileSync('qemu-img', ['snapshot', ...args, disk]);
  const save = { bento: [] as number[], hand: [] as number[] };
  const load = { bento: [] as number[], hand: [] as number[] };
  for (let i = 0; i < b.runs; i++) {
    const tag = `disk-${i}`;
    let t0 = now();
    b.cli(['snapshot', b.name, tag]);
    save.bento.push(since(t0));
    t0 = now();
    img('-c', tag);
    save.hand.push(since(t0));
    t0 = now();
    b.cli(['snapshot', 'restore', b.name, tag]);
    load.bento.push(since(t0));
    t0 = now();
    img('-a', tag);
    load.hand.push(since(t0));
    b.cli(['snapshot', 'rm', b.name, tag]);
    img('-d', tag);
  }
  console.log(`bench snapshot/stopped: ${b.runs} runs each, stopped VM, 64 MiB qcow2 disk`);
  report('snapshot (disks)', save.bento, save.hand, 'qemu-img snapshot -c');
  report('restore (disks)', load.bento, load.hand, 'qemu-img snapshot -a');
  // Both include starting a process (node for bento, qemu-img by hand); through the API alone:
  const api: number[] = [];
  for (let i = 0; i < b.runs; i++) {
    const t0 = now();
    await b.api.snapshot(b.name, `api-${i}`);
    api.push(since(t0));
    await b.api.removeSnapshot(b.name, `api-${i}`);
  }
  console.log(`    API snapshot (no CLI start)  median ${ms(median(api)).padStart(10)}   (${api.map((x) => x.toFixed(0)).join(' ')}), ${(median(api) / median(save.hand)).toFixed(2)}x by hand`);
}

/** The sections, in their default order; `suspend` (bench/suspend.ts) uses a VM of its own. */
const SECTIONS: Record<string, (b: Bench) => Promise<void>> = { running, stopped, suspend: () => suspendSection({ runs: Math.min(RUNS, 3) }) };

async function main(): Promise<void> {
  if (!fs.existsSync(bento) || !fs.existsSync(path.join(guestDir, 'READY'))) throw new Error('run `npm run build` and `npm run guest` first');
  const asked = process.argv.slice(2);
  const unknown = asked.filter((s) => !SECTIONS[s]);
  if (unknown.length) throw new Error(`unknown section ${unknown.join(', ')}; sections: ${Object.keys(SECTIONS).join(', ')}`);
  const home = fs.mkdtempSync('/tmp/bench-snap-');
  const env = { ...process.env, BENTO_HOME: home };
  const cli = (args: string[]): string => execFileSync('node', [bento, ...args], { env, encoding: 'utf8' });
  const name = 'b';
  const bareDir = fs.mkdtempSync('/tmp/bench-snap-bare-');
  try {
    cli(['create', name, '--kernel', `${guestDir}/vmlinuz`, '--initrd', `${guestDir}/initrd.img`, '--cmdline', 'console=ttyS0', '--memory', '256M', '--accel', 'tcg', '--network', 'none', '--disk-size', '64M']);
    const vmDir = path.join(home, 'vms', name);
    const command = (JSON.parse(cli(['inspect', name, '--json'])) as { driver: { command: string[] } }).driver.command;
    // By hand: the same argv in another folder with its own disk, minus -S (nobody would send `cont`).
    const bare = command.map((a) => a.replaceAll(vmDir, bareDir)).filter((a) => a !== '-S');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(bareDir, 'disk.qcow2'), '64M']);
    const b: Bench = { home, name, vmDir, bareDir, bare, runs: RUNS, cli, api: new BentoClient(path.join(home, 'bentod.sock')) };
    for (const s of asked.length ? asked : Object.keys(SECTIONS)) await SECTIONS[s]!(b);
  } finally {
    removeHome(home);
    fs.rmSync(bareDir, { recursive: true, force: true });
  }
}

await main();
