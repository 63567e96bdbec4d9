/**
 * The cost of live figures (goal: sampling 100 running VMs stays under 2% of one core; keypress to
 * frame p50 under 16 ms with the stats column on and 1000 VMs).
 *
 *   npx tsx bench/stats.ts               both parts (npm run build first)
 *   npx tsx bench/stats.ts --sampler     bentod's CPU only
 *   npx tsx bench/stats.ts --keys        keypress -> frame only
 *
 * Sampler: a real bentod with VMS test guests (default 100, 64 MiB, no network) started through the
 * API. On a small shared machine 100 booting TCG guests would take every core for minutes, so each is
 * paused as soon as it has started (qemu stays up, its QMP answers): bentod's sampling work per VM
 * (two /proc reads, query-blockstats over QMP) is the same for a paused guest as for a running one.
 * BOOTED=n leaves the first n running (booted) instead, to check that. bentod's CPU comes from
 * /proc/<bentod>/stat over SECONDS (default 30) with no subscriber, then with one stats subscriber
 * (an /api/events?stats=1 stream), interleaved twice.
 *
 * Keys: the App rendered by Ink into a fake 120x40 terminal with 1000 running VMs from the fake
 * client, keys 50 ms apart, with the fake pushing a stats event for all 1000 VMs every second, against
 * the same with no stats (measured in the same run, rounds alternated). A stats event redraws every
 * visible row (each one's CPU cell changed) once a second; keys that land on that frame wait for it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BentoClient } from '../src/api/client.js';
import { FakeStdin } from '../src/ui/test/fake-stdin.js';
import type { StatsEvent, Vm, VmSample } from '../src/vm/types.js';
import { FakeTtyOut, keypressTimes, median, percentile, removeHome } from './lib.js';
import { execFileSync } from 'node:child_process';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const root = path.resolve(import.meta.dirname, '..');

/** CPU seconds a process has used (utime + stime; USER_HZ 100). */
function cpuSeconds(pid: number): number {
  const rest = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

/** Percent of one core a process used over `ms` from now. */
async function cpuOver(pid: number, ms: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await sleep(ms);
  return ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
}

async function sampler(): Promise<void> {
  const n = Number(process.env.VMS ?? 100);
  const booted = Number(process.env.BOOTED ?? 0);
  const seconds = Number(process.env.SECONDS_EACH ?? process.env.SECONDS ?? 30);
  const guest = path.join(os.homedir(), '.cache/bento/test-guest');
  const bento = path.join(root, 'dist', 'bento.js');
  if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-stats-'));
  const env = { ...process.env, BENTO_HOME: home } as Record<string, string>;
  try {
    execFileSync('node', [bento, 'ls'], { env });
    const pid = Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8'));
    const client = new BentoClient(path.join(home, 'bentod.sock'));
    const t0 = Date.now();
    let next = 0;
    let failed = 0;
    let firstError = '';
    // A few at a time: each start spawns bento-vmm and qemu and waits for QMP.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < n) {
          const k = next++;
          const name = `g${String(k).padStart(3, '0')}`;
          try {
            await client.create({
              name,
              kernel: path.join(guest, 'vmlinuz'),
              initrd: path.join(guest, 'initrd.img'),
              cmdline: 'console=ttyS0',
              memory: '64M',
              accel: 'tcg',
              network: 'none',
            });
            await client.start(name);
            if (k >= booted) await client.pause(name);
          } catch (err) {
            failed++;
            firstError ||= (err as Error).message;
          }
        }
      }),
    );
    const vms = await client.list();
    const live = vms.filter((v) => v.state === 'running' || v.state === 'paused');
    console.log(`bentod sampling cost: ${live.length} VMs up (${live.filter((v) => v.state === 'running').length} running, the rest paused) in ${((Date.now() - t0) / 1000).toFixed(0)} s${failed ? `; ${failed} did not start (${firstError})` : ''}`);
    if (booted) await sleep(20_000); // let the booted ones settle
    const idle: number[] = [];
    const subscribed: number[] = [];
    let ticks = 0;
    let vmsPerTick = 0;
    for (let round = 0; round < 2; round++) {
      idle.push(await cpuOver(pid, (seconds * 1000) / 2));
      const close = await client.events(
        {
          onEvent: () => undefined,
          onStats: (ev) => {
            ticks++;
            vmsPerTick = Object.keys(ev.vms).length;
          },
        },
        { stats: true },
      );
      await sleep(2_000); // the sampler's first round (query-block once per VM) is not the steady state
      subscribed.push(await cpuOver(pid, (seconds * 1000) / 2));
      close();
      await sleep(1_500);
    }
    const base = median(idle);
    const withStats = median(subscribed);
    const perVm = (withStats - base) / Math.max(live.length, 1);
    console.log(`  bentod CPU, no subscriber:        ${base.toFixed(2)}% of one core (${idle.map((x) => x.toFixed(2)).join(', ')})`);
    console.log(`  bentod CPU, one stats subscriber: ${withStats.toFixed(2)}% of one core (${subscribed.map((x) => x.toFixed(2)).join(', ')})`);
    console.log(`  sampling: ${(withStats - base).toFixed(2)}% of one core for ${live.length} VMs = ${(perVm * 1000).toFixed(1)} milli-% per VM; 100 VMs ≈ ${(perVm * 100).toFixed(2)}% (goal < 2%)`);
    console.log(`  ${ticks} stats events received, the last with ${vmsPerTick} VMs`);
    console.log(`  (machine load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores: figures are per bentod, not shares of the machine)`);
  } finally {
    removeHome(home);
    // bento-vmm and qemu outlive bentod by design: end this bench's own, found by its home in their argv.
    for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const argv = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8');
        if (argv.includes(home)) process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone or not ours
      }
    }
  }
}


function fakeSample(i: number, t: number): VmSample {
  return {
    at: new Date().toISOString(),
    cpuPercent: (i * 7 + t * 13) % 100,
    rssBytes: 200 << 20,
    guestMemUsedBytes: null,
    guestMemTotalBytes: null,
    diskReadBps: 0,
    diskWriteBps: (i * t) % 5000,
    netRxBps: null,
    netTxBps: null,
  };
}

async function keys(): Promise<void> {
  process.env.NODE_ENV ??= 'production';
  const [{ render }, { createElement }, { App }, { FakeClient, fakeVms }, { createVmStore }] = await Promise.all([
    import('ink'),
    import('react'),
    import('../src/ui/App.js'),
    import('../src/ui/fake-client.js'),
    import('../src/ui/vm-store.js'),
  ]);
  const N = 1000;
  const KEYS = Number(process.env.KEYS ?? 200);
  const run = async (withStats: boolean): Promise<number[]> => {
    const vms: Vm[] = fakeVms(N).map((v, i) => ({ ...v, state: 'running', pid: 1000 + i, startedAt: new Date(Date.now() - 60_000).toISOString() }));
    const client = new FakeClient(vms);
    const store = createVmStore(client);
    store.start();
    // Whether a frame so far showed the CPU column's header and a sparkline.
    let sawCpu = false;
    const stdout = new FakeTtyOut((s) => {
      if (!sawCpu && /UPTIME\s+CPU/.test(s) && /%\s+[▁▂▃▄▅▆▇█]/.test(s)) sawCpu = true;
    });
    const stdin = new FakeStdin();
    const ink = render(createElement(App, { client, store, consoleCommand: () => ({ command: 'true', args: [] }), guestDir: '/none' }), {
      stdout: stdout as unknown as NodeJS.WriteStream,
      stdin: stdin as unknown as NodeJS.ReadStream,
      exitOnCtrlC: false,
      patchConsole: false,
      maxFps: 60,
    });
    let t = 0;
    const push = (): void => {
      t++;
      const ev: StatsEvent = { at: new Date().toISOString(), vms: Object.fromEntries(vms.map((v, i) => [v.name, fakeSample(i, t)])) };
      client.emitStats(ev);
    };
    // A minute of history first, so every sparkline is full.
    if (withStats) for (let i = 0; i < 60; i++) push();
    const timer = withStats ? setInterval(push, 1000) : null;
    await sleep(500);
    if (withStats && !sawCpu) throw new Error('the CPU column is not on the screen');
    const times = await keypressTimes(stdin, stdout, KEYS, 50);
    if (timer) clearInterval(timer);
    ink.unmount();
    store.dispose();
    return times;
  };
  const fmt = (xs: number[]): string => `p50 ${median(xs).toFixed(1)} ms  p95 ${percentile(xs, 95).toFixed(1)} ms`;
  // Alternated rounds, so the load of a shared machine falls on both alike.
  const off: number[] = [];
  const on: number[] = [];
  for (let round = 0; round < 3; round++) {
    off.push(...(await run(false)));
    on.push(...(await run(true)));
  }
  console.log(`TUI keypress -> frame, 1000 running VMs, in process (Ink into a fake 120x40 terminal), 3 x ${KEYS} keys 50 ms apart each`);
  console.log(`  stats off:                                  ${fmt(off)}`);
  console.log(`  stats on (an event for 1000 VMs each second): ${fmt(on)}  ratio p50 ${(median(on) / median(off)).toFixed(2)}  (goal: p50 < 16 ms)`);
}

const only = process.argv.find((a) => a === '--sampler' || a === '--keys');
if (!only || only === '--keys') await keys();
if (!only || only === '--sampler') await sampler();
process.exit(0);
