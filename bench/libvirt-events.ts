/**
 * A change made outside bento on a libvirt host (`virsh suspend` / `virsh resume`) to bentod's state
 * event and to the TUI's screen (goal: paused on the TUI's screen within 50 ms).
 *
 *   npm run build && npm run guest && npx tsx bench/libvirt-events.ts     (root: private libvirtd instances)
 *
 * Two hosts, each a private libvirtd (test/helpers/libvirtd.ts): lab1 through its Unix socket, lab2
 * over qemu+tcp in a network namespace, where bentod runs. Each runs the test guest (a domain defined
 * and started with virsh, so bento sees it as a foreign domain). For every round the bench runs
 * `virsh suspend` or `virsh resume` and times, from the moment that virsh exits:
 *   - the state event on bentod's /api/events (read by the bench as an SSE client),
 *   - the frame in which `node dist/bento.js` (the TUI, in a pty, read through a headless xterm) shows
 *     the domain's row in the new state,
 * and, as the baseline measured in the same run, the same lifecycle event at a plain libvirt client
 * (`virsh event --loop --event lifecycle` on the same URI): what libvirt itself takes to tell a client.
 * Negative figures mean the event arrived before virsh's exit was seen.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import xh from '@xterm/headless';
import { execa } from 'execa';
import ptyModule from 'node-pty';
import { BentoClient } from '../src/api/client.js';
import { guestDomainXml, defineDomain, startLibvirtd, stopAllLibvirtd, type Libvirtd } from '../test/helpers/libvirtd.js';
import { median, ms, percentile, removeHome } from './lib.js';

const pty = (ptyModule as unknown as { default?: typeof ptyModule }).default ?? ptyModule;
const { Terminal } = xh;
const root = path.resolve(import.meta.dirname, '..');
const bento = path.join(process.env.BENTO_DIST ?? path.join(root, 'dist'), 'bento.js');
if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
const ROUNDS = Number(process.env.ROUNDS ?? 20);
const home = fs.mkdtempSync('/tmp/bench-lvev-');
const env = { ...process.env, BENTO_HOME: home } as Record<string, string>;
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));
const fmt = (xs: number[]): string =>
  xs.length ? `p50 ${ms(median(xs))}  p95 ${ms(percentile(xs, 95))}  min ${ms(Math.min(...xs))}  max ${ms(Math.max(...xs))}` : 'no samples';

async function waitUntil<T>(what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(1);
  }
}

const children: { kill(): void }[] = [];
try {
  const [lab1, lab2] = await Promise.all([startLibvirtd({ kind: 'socket', name: 'lab1' }), startLibvirtd({ kind: 'tcp', name: 'lab2' })]);
  const hosts: [Libvirtd, string][] = [[lab1, 'evlab1'], [lab2, 'evlab2']];
  for (const [h, dom] of hosts) {
    await defineDomain(h, guestDomainXml(dom));
    const r = await h.virsh(['start', dom]);
    if (r.code !== 0) throw new Error(`virsh start ${dom} failed: ${r.stderr}`);
  }
  const ns = lab2.netnsExec;
  const inNs = (args: string[]): Promise<unknown> => execa(ns[0]!, [...ns.slice(1), 'node', bento, ...args], { env });
  await inNs(['ls']); // bentod starts inside the namespace
  await inNs(['host', 'add', 'lab1', lab1.uri]);
  await inNs(['host', 'add', 'lab2', lab2.uri]);

  const client = new BentoClient(path.join(home, 'bentod.sock'));
  const names = hosts.map(([h, dom]) => `${h.name}/${dom}`);
  const deadline = Date.now() + 120_000;
  while ((await client.list()).filter((v) => names.includes(v.name) && v.state === 'running').length < names.length) {
    if (Date.now() > deadline) throw new Error(`bentod does not list ${names.join(' and ')} as running`);
    await sleep(200);
  }

  // bentod's events, as the TUI gets them.
  const sse = new Map<string, number>();
  const stopEvents = await client.events({ onEvent: (e) => sse.set(`${e.name} ${e.state}`, performance.now()) });
  // libvirt's own events at a plain client: the baseline.
  const libvirtSeen = new Map<string, number>();
  for (const [h] of hosts) {
    const argv = h.virshArgv(['event', '--loop', '--event', 'lifecycle']);
    const ev = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(ev);
    let buf = '';
    ev.stdout.on('data', (d: Buffer) => {
      const at = performance.now();
      buf += d.toString();
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const m = /for domain '([^']+)': (Suspended|Resumed)/.exec(line);
        if (m) libvirtSeen.set(`${h.name}/${m[1]} ${m[2] === 'Suspended' ? 'paused' : 'running'}`, at);
      }
    });
  }
  // The TUI in a pty; each chunk goes through a headless xterm, then the domain's row is checked.
  const term = new Terminal({ cols: 120, rows: 40, allowProposedApi: true });
  const p = pty.spawn('node', [bento], { name: 'xterm-256color', cols: 120, rows: 40, env });
  children.push(p);
  const onScreen = new Map<string, number>();
  const rowState = (dom: string): string | undefined => {
    const buf = term.buffer.active;
    for (let y = 0; y < buf.length; y++) {
      const line = buf.getLine(y)?.translateToString(true) ?? '';
      if (!line.includes(dom)) continue;
      const m = /\b(running|paused|pausing|resuming|stopped|unreachable)\b/.exec(line);
      if (m) return m[1];
    }
    return undefined;
  };
  let watching: { dom: string; key: string; state: string } | null = null;
  p.onData((d) => {
    term.write(d, () => {
      if (watching && !onScreen.has(watching.key) && rowState(watching.dom) === watching.state) onScreen.set(watching.key, performance.now());
    });
  });
  await waitUntil('both domains running on the TUI', () => (hosts.every(([, dom]) => rowState(dom) === 'running') ? true : undefined), 30_000);
  await sleep(500);

  const toSse: number[] = [];
  const toScreen: number[] = [];
  const libvirtToSse: number[] = [];
  const sseToScreen: number[] = [];
  const virshMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const [h, dom] of hosts) {
      const state = i % 2 === 0 ? 'paused' : 'running';
      const key = `${h.name}/${dom} ${state}`;
      sse.delete(key);
      libvirtSeen.delete(key);
      onScreen.delete(key);
      watching = { dom, key, state };
      const t0 = performance.now();
      const r = await h.virsh([state === 'paused' ? 'suspend' : 'resume', dom]);
      const done = performance.now();
      if (r.code !== 0) throw new Error(`virsh on ${h.name} failed: ${r.stderr}`);
      virshMs.push(done - t0);
      const atSse = await waitUntil(`${key} on /api/events`, () => sse.get(key), 5000);
      const atScreen = await waitUntil(`${key} on the TUI`, () => onScreen.get(key), 5000);
      const atLibvirt = await waitUntil(`${key} at virsh event`, () => libvirtSeen.get(key), 5000);
      toSse.push(atSse - done);
      toScreen.push(atScreen - done);
      libvirtToSse.push(atSse - atLibvirt);
      sseToScreen.push(atScreen - atSse);
      await sleep(100);
    }
  }
  watching = null;
  stopEvents();
  p.write('q');
  await sleep(300);
  console.log(`bench libvirt events: ${ROUNDS} rounds x 2 hosts (lab1 unix socket, lab2 qemu+tcp), virsh suspend/resume of a running test guest`);
  console.log(`  virsh suspend/resume itself (wall)         ${fmt(virshMs)}`);
  console.log(`  virsh exited -> state event at bentod SSE   ${fmt(toSse)}`);
  console.log(`  virsh exited -> TUI screen shows it          ${fmt(toScreen)}   (goal: under 50 ms)`);
  console.log(`  baseline: libvirt event at a plain client -> bentod SSE event  ${fmt(libvirtToSse)}`);
  console.log(`  bentod SSE event -> TUI screen               ${fmt(sseToScreen)}`);
} finally {
  for (const c of children) {
    try {
      c.kill();
    } catch {
      // gone
    }
  }
  removeHome(home);
  await stopAllLibvirtd();
}
process.exit(0);
