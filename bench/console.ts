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
import { median, ms, percentile, removeHome } from './lib.js';

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

/** A console WebSocket through bentod that takes the input. */
function ws2(sock: string, name: string): WebSocket {
  return new WebSocket(`ws+unix://${sock}:/api/vms/${name}/console?scrollback=0&force=1`);
}

/** Numbered lines through the UART, output post-processing off, each line checked on arrival. */
async function uartFlood(ws: WebSocket): Promise<{ secs: number; bytes: number; ok: boolean }> {
  const n = Number(process.env.UART_LINES ?? 100_000);
  await new Promise((r) => ws.once('open', r));
  let text = '';
  ws.on('message', (d, bin) => bin && (text += (d as Buffer).toString('latin1')));
  ws.send(Buffer.from(`stty -opost; T=UF; echo $T-BEGIN; seq 1 ${n}; echo $T-END; stty opost\r`), { binary: true });
  await waitText(() => text, 'UF-BEGIN\n');
  const t0 = process.hrtime.bigint();
  await waitText(() => text, '\nUF-END', 300_000);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const body = text.slice(text.indexOf('UF-BEGIN\n') + 9, text.indexOf('\nUF-END') + 1);
  const expected = Array.from({ length: n }, (_, i) => `${i + 1}\n`).join('');
  ws.close();
  return { secs, bytes: body.length, ok: body === expected };
}

const kernelArgs = ['--kernel', `${guestDir}/vmlinuz`, '--initrd', `${guestDir}/initrd.img`, '--memory', '256M', '--accel', 'tcg'];
try {
  run(['create', 'lat', ...kernelArgs, '--cmdline', 'console=ttyS0']);
  run(['create', 'flood', ...kernelArgs, '--console', 'virtio', '--cmdline', 'console=ttyS0 bento.console=hvc0']);
  // The baselines: identical qemu command lines started by hand, read straight from their chardev
  // sockets (connected at once; qemu drops console output while no client is connected).
  async function bareGuest(name: string, socketName: string): Promise<{ dir: string; sock: net.Socket; text: () => string; proc: ReturnType<typeof spawn> }> {
    const command = (JSON.parse(run(['inspect', name, '--json'])) as { driver: { command: string[] } }).driver.command;
    const dir = fs.mkdtempSync(`/tmp/bench-con-bare-${name}-`);
    const bare = command.map((a) => a.replaceAll(path.join(home, 'vms', name), dir));
    const proc = spawn(bare[0]!, bare.slice(1), { stdio: 'ignore' });
    const sockPath = path.join(dir, socketName);
    let sock: net.Socket | null = null;
    while (!sock) {
      try {
        sock = await new Promise<net.Socket>((resolve, reject) => {
          const c = net.connect(sockPath, () => resolve(c));
          c.once('error', reject);
        });
      } catch {
        await sleep(10);
      }
    }
    let text = '';
    sock.on('data', (b: Buffer) => (text = (text + b.toString('latin1')).slice(-1_000_000)));
    // Started paused (-S) like bento does; the baseline guest runs once its console is connected.
    const qmp = net.connect(path.join(dir, 'qmp.sock'));
    qmp.write('{"execute":"qmp_capabilities"}\n{"execute":"cont"}\n');
    let replies = '';
    await new Promise<void>((resolve) => qmp.on('data', (b: Buffer) => (replies += b.toString()).includes('"RESUME"') && resolve()));
    qmp.destroy();
    return { dir, sock, text: () => text, proc };
  }
  const bareLat = await bareGuest('lat', 'serial.sock');
  const bareFlood = await bareGuest('flood', 'console.sock');
  run(['start', 'lat']);
  run(['start', 'flood']);
  const log = (name: string) => () => fs.readFileSync(path.join(home, 'vms', name, 'serial.log'), 'latin1');
  await waitText(log('lat'), 'BENTO-GUEST-READY');
  await waitText(bareLat.text, 'BENTO-GUEST-READY');
  await waitText(() => log('flood')().split('BENTO-GUEST-READY').length > 2 ? 'ok' : '', 'ok');
  for (let i = 0; !bareFlood.text().includes('BARE-2'); i++) {
    if (i > 120) throw new Error('the baseline guest never answered on hvc0');
    bareFlood.sock.write('echo BARE-$((1+1))\r');
    await sleep(1000);
  }
  await sleep(500);
  const vmmRss = (name: string): number => {
    const pid = Number(fs.readFileSync(path.join(home, 'vms', name, 'vmm.lock'), 'utf8'));
    return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  };
  console.log(`bench console log owner: bento-vmm RSS ${vmmRss('lat')} KiB (UART VM), ${vmmRss('flood')} KiB (virtio VM)`);

  // 1. Echo latency, alternating blocks would need two guests at once anyway; both run now.
  const direct = bareLat.sock;
  const viaDirect = await echoTimes({ send: (b) => direct.write(b), onData: (cb) => direct.on('data', cb) });
  const sock = path.join(home, 'bentod.sock');
  const ws = new WebSocket(`ws+unix://${sock}:/api/vms/lat/console?scrollback=0`);
  await new Promise((r) => ws.once('open', r));
  const viaBentod = await echoTimes({ send: (b) => ws.send(b, { binary: true }), onData: (cb) => ws.on('message', (d, bin) => bin && cb(d as Buffer)) });
  ws.close();
  // UART flood through bentod (the emulated 16550 under TCG is the ceiling).
  const uart = await uartFlood(ws2(sock, 'lat'));
  console.log(`bench console UART flood: ${(uart.bytes / 1e6).toFixed(2)} MB in ${uart.secs.toFixed(1)} s through bentod = ${(uart.bytes / uart.secs / 1e3).toFixed(0)} KB/s, ${uart.ok ? 'every line exact' : 'LINES WRONG'}`);
  direct.destroy();
  bareLat.proc.kill('SIGKILL');
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

  const directSock = bareFlood.sock;
  const d = await flood({ send: (b) => directSock.write(b), onData: (cb) => directSock.on('data', cb) });
  directSock.destroy();
  bareFlood.proc.kill('SIGKILL');

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
  console.log(`  bento-vmm after the flood RSS ${vmmRss('flood')} KiB`);
  fs.rmSync(bareFlood.dir, { recursive: true, force: true });
  viewer.close();
  fs.rmSync(bareLat.dir, { recursive: true, force: true });
} finally {
  try {
    execFileSync('pkill', ['-9', '-f', '/tmp/bench-con-bare-']);
  } catch {
    // none left
  }
  try {
    run(['stop', 'flood', '--force']);
  } catch {
    // not running
  }
  removeHome(home);
}
