// Console benchmarks through bentod, each against a baseline measured in the same run:
//  1. keystroke-to-echo through bentod (WebSocket) vs a direct connection to the same kind of
//     chardev socket of an identical qemu started by hand (goal: under 2 ms added at p50);
//  2. sustained guest output over the virtio console to an attached viewer: MB/s, bytes lost, and
//     the CPU of bentod and of the viewer while it flows (goal: at least 5 MB/s, nothing lost).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { median, ms, percentile, removeHome } from './stats.js';

const root = path.resolve(import.meta.dirname, '..');
const bento = path.join(root, 'dist', 'bento.js');
const guestDir = process.env.BENTO_GUEST_DIR ?? path.join(os.homedir(), '.cache/bento/test-guest');
if (!fs.existsSync(bento) || !fs.existsSync(path.join(guestDir, 'READY'))) throw new Error('run `npm run build` and `npm run guest` first');
const home = fs.mkdtempSync('/tmp/bench-con-');
const env = { ...process.env, BENTO_HOME: home };
const run = (args: string[]): string => execFileSync('node', [bento, ...args], { env, encoding: 'utf8' });
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));
const KEYS = Number(process.env.KEYS ?? 200);
const FLOOD = Number(process.env.FLOOD_MB ?? 20) * 1024 * 1024;

async function waitText(get: () => string, text: string, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!get().includes(text)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${text}`);
    await sleep(20);
  }
}

/** A byte stream with "send, then wait until this byte comes back" timing. */
interface Echo {
  send(b: Buffer): void;
  onData(cb: (b: Buffer) => void): void;
}
async function echoTimes(e: Echo): Promise<number[]> {
  let waiting: ((t: bigint) => void) | null = null;
  e.onData((b) => {
    if (waiting && b.includes(0x78)) waiting(process.hrtime.bigint());
  });
  const out: number[] = [];
  for (let i = 0; i < KEYS; i++) {
    const t0 = process.hrtime.bigint();
    const got = new Promise<bigint>((r) => (waiting = r));
    e.send(Buffer.from('x'));
    out.push(Number((await got) - t0) / 1e6);
    waiting = null;
    if (i % 50 === 49) {
      e.send(Buffer.from('\x15')); // Ctrl-U: clear the line
      await sleep(100);
    }
    await sleep(5);
  }
  e.send(Buffer.from('\x15'));
  return out;
}

/** CPU milliseconds a process has used (utime + stime; Linux clock ticks are 10 ms). */
function cpuOf(pid: number): number {
  const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const kernelArgs = ['--kernel', `${guestDir}/vmlinuz`, '--initrd', `${guestDir}/initrd.img`, '--memory', '256M', '--accel', 'tcg'];
try {
  run(['create', 'lat', ...kernelArgs, '--cmdline', 'console=ttyS0']);
  run(['create', 'flood', ...kernelArgs, '--console', 'virtio', '--cmdline', 'console=ttyS0 bento.console=hvc0']);
  const command = (JSON.parse(run(['inspect', 'lat', '--json'])) as { driver: { command: string[] } }).driver.command;
  const bareDir = fs.mkdtempSync('/tmp/bench-con-bare-');
  const bare = command.map((a) => a.replaceAll(path.join(home, 'vms', 'lat'), bareDir)).filter((a) => a !== '-S');
  spawn(bare[0]!, bare.slice(1), { stdio: 'ignore' });
  const floodCommand = (JSON.parse(run(['inspect', 'flood', '--json'])) as { driver: { command: string[] } }).driver.command;
  const bareFloodDir = fs.mkdtempSync('/tmp/bench-con-barev-');
  const bareFlood = floodCommand.map((a) => a.replaceAll(path.join(home, 'vms', 'flood'), bareFloodDir)).filter((a) => a !== '-S');
  spawn(bareFlood[0]!, bareFlood.slice(1), { stdio: 'ignore' });
  run(['start', 'lat']);
  run(['start', 'flood']);
  const log = (name: string) => () => fs.readFileSync(path.join(home, 'vms', name, 'serial.log'), 'latin1');
  await waitText(log('lat'), 'BENTO-GUEST-READY');
  await waitText(() => fs.readFileSync(path.join(bareDir, 'serial.log'), 'latin1'), 'BENTO-GUEST-READY');
  await waitText(() => log('flood')().split('BENTO-GUEST-READY').length > 2 ? 'ok' : '', 'ok');
  await waitText(() => (fs.readFileSync(path.join(bareFloodDir, 'serial.log'), 'latin1').split('BENTO-GUEST-READY').length > 2 ? 'ok' : ''), 'ok');
  await sleep(500);

  // 1. Echo latency, alternating blocks would need two guests at once anyway; both run now.
  const direct = net.connect(path.join(bareDir, 'serial.sock'));
  await new Promise((r) => direct.once('connect', r));
  const viaDirect = await echoTimes({ send: (b) => direct.write(b), onData: (cb) => direct.on('data', cb) });
  direct.destroy();
  const sock = path.join(home, 'bentod.sock');
  const ws = new WebSocket(`ws+unix://${sock}:/api/vms/lat/console?scrollback=0`);
  await new Promise((r) => ws.once('open', r));
  const viaBentod = await echoTimes({ send: (b) => ws.send(b, { binary: true }), onData: (cb) => ws.on('message', (d, bin) => bin && cb(d as Buffer)) });
  ws.close();
  process.kill(Number(fs.readFileSync(path.join(bareDir, 'qemu.pid'), 'utf8')), 'SIGKILL');
  run(['stop', 'lat', '--force']);
  const dp50 = median(viaDirect);
  const bp50 = median(viaBentod);
  console.log(`bench console echo: ${KEYS} keystrokes each to a busybox shell on the emulated UART (TCG)`);
  console.log(`  direct chardev socket  p50 ${ms(dp50)}  p95 ${ms(percentile(viaDirect, 95))}`);
  console.log(`  through bentod         p50 ${ms(bp50)}  p95 ${ms(percentile(viaBentod, 95))}`);
  console.log(`  added by bentod        p50 ${ms(bp50 - dp50)}   (goal: under 2 ms)`);

  // 2. Throughput over hvc0: through bentod to one attached viewer, and straight from the chardev
  //    socket of an identical qemu started by hand (the guest under TCG is the ceiling for both).
  const bentodPid = Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8'));
  const line = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ012'; // 64 chars + \n
  const lines = Math.floor(FLOOD / (line.length + 1));
  const expected = lines * (line.length + 2); // the guest's tty turns each \n into \r\n
  const command2 = `echo FLOOD-BEGIN; yes ${line} | head -n ${lines}; echo FLOOD-END\n`;

  async function flood(e: Echo): Promise<{ secs: number; received: number }> {
    let received = 0;
    let head = '';
    let seen = '';
    let tStart = 0n;
    let tEnd = 0n;
    e.onData((b) => {
      if (tEnd) return;
      if (!tStart) {
        // The marker may be split across chunks; the typed command's echo has it without \r\n.
        head = (head + b.toString('latin1')).slice(-4096);
        const i = head.indexOf('FLOOD-BEGIN\r\n');
        if (i < 0) return;
        tStart = process.hrtime.bigint();
        received = head.length - (i + 'FLOOD-BEGIN\r\n'.length);
        return;
      }
      received += b.length;
      seen = (seen + b.toString('latin1')).slice(-64);
      if (seen.includes('FLOOD-END')) tEnd = process.hrtime.bigint();
    });
    e.send(Buffer.from(command2));
    while (!tEnd) await sleep(50);
    return { secs: Number(tEnd - tStart) / 1e9, received };
  }

  const directSock = net.connect(path.join(bareFloodDir, 'console.sock'));
  await new Promise((r) => directSock.once('connect', r));
  const d = await flood({ send: (b) => directSock.write(b), onData: (cb) => directSock.on('data', cb) });
  directSock.destroy();
  process.kill(Number(fs.readFileSync(path.join(bareFloodDir, 'qemu.pid'), 'utf8')), 'SIGKILL');

  const viewer = new WebSocket(`ws+unix://${sock}:/api/vms/flood/console?scrollback=0`);
  await new Promise((r) => viewer.once('open', r));
  const cpu0 = { bentod: cpuOf(bentodPid), viewer: process.cpuUsage() };
  const b = await flood({ send: (x) => viewer.send(x, { binary: true }), onData: (cb) => viewer.on('message', (m, bin) => bin && cb(m as Buffer)) });
  const cpuB = (cpuOf(bentodPid) - cpu0.bentod) / 1000;
  const v = process.cpuUsage(cpu0.viewer);
  const cpuV = (v.user + v.system) / 1e6;
  const rate = (r: { secs: number }) => expected / r.secs / 1e6;
  const lost = (r: { received: number }) => (r.received >= expected ? 'nothing lost' : `${expected - r.received} bytes LOST`);
  console.log(`bench console flood: ${(expected / 1e6).toFixed(1)} MB from the guest over virtio-console (TCG)`);
  console.log(`  direct chardev socket  ${rate(d).toFixed(2)} MB/s  (${lost(d)})`);
  console.log(`  through bentod         ${rate(b).toFixed(2)} MB/s  (${lost(b)})   ratio ${(rate(b) / rate(d)).toFixed(2)}   (goal: at least 5 MB/s)`);
  console.log(`  CPU while it flows     bentod ${((cpuB / b.secs) * 100).toFixed(0)}% of a core, viewer ${((cpuV / b.secs) * 100).toFixed(0)}% of a core`);
  fs.rmSync(bareFloodDir, { recursive: true, force: true });
  viewer.close();
  fs.rmSync(bareDir, { recursive: true, force: true });
} finally {
  try {
    run(['stop', 'flood', '--force']);
  } catch {
    // not running
  }
  removeHome(home);
}
