/**
 * Keypress to frame in the TUI's table with 1000 VMs (goal: p50 under 16 ms).
 *
 *   npx tsx bench/tui-keypress.ts          in process: the App rendered by Ink into a fake 120x40
 *                                          terminal (the real render path, throttle included), with
 *                                          an in-memory bentod holding 1000 VMs
 *   npx tsx bench/tui-keypress.ts --pty    end to end: the bundled `node dist/bento.js` in a
 *                                          pseudo-terminal against a real bentod holding 1000 VM
 *                                          definitions created through the API (npm run build first)
 *
 * Keys are spaced further apart than Ink's frame interval, so each measures one whole frame: the
 * time from writing the key to the last byte of the frame it causes. A burst of held-down keys is
 * reported separately (frames per second while the key repeats).
 */
import { FakeStdin } from '../src/ui/test/fake-stdin.js';
import { FakeTtyOut, keypressTimes, median, percentile } from './lib.js';

process.env.NODE_ENV ??= 'production'; // what the bundle ships (React's production build)

const N = Number(process.env.VMS ?? 1000);
const KEYS = Number(process.env.KEYS ?? 200);
const GAP_MS = 50;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmt = (xs: number[]): string => `p50 ${median(xs).toFixed(1)} ms  p95 ${percentile(xs, 95).toFixed(1)} ms  max ${Math.max(...xs).toFixed(1)} ms`;

async function inProcess(): Promise<void> {
  const [{ render }, { createElement }, { App }, { FakeClient, fakeVms }, { createVmStore }] = await Promise.all([
    import('ink'),
    import('react'),
    import('../src/ui/App.js'),
    import('../src/ui/fake-client.js'),
    import('../src/ui/vm-store.js'),
  ]);
  const client = new FakeClient(fakeVms(N));
  const store = createVmStore(client);
  store.start();
  const stdout = new FakeTtyOut();
  const stdin = new FakeStdin();
  const ink = render(
    createElement(App, { client, store, consoleCommand: () => ({ command: 'true', args: [] }), guestDir: '/none' }),
    { stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, exitOnCtrlC: false, patchConsole: false, maxFps: 60 },
  );
  await sleep(500);
  const times = await keypressTimes(stdin, stdout, KEYS, GAP_MS);
  // Held key: 300 keys as fast as a terminal's auto-repeat at 30/s would not even reach; count frames.
  const frames0 = stdout.bytes;
  const t0 = performance.now();
  for (let i = 0; i < 60; i++) {
    stdin.write('j');
    await sleep(5);
  }
  await sleep(100);
  const burstMs = performance.now() - t0;
  ink.unmount();
  store.dispose();
  console.log(`TUI keypress -> frame, ${N} VMs, in process (Ink into a fake 120x40 terminal)`);
  console.log(`  ${KEYS} keys ${GAP_MS} ms apart: ${fmt(times)}  (goal: p50 < 16 ms)`);
  console.log(`  60 keys 5 ms apart: ${burstMs.toFixed(0)} ms, ${((stdout.bytes - frames0) / 1024).toFixed(0)} KiB written (frames coalesce at 60 fps, as in run.ts)`);
}

async function inPty(): Promise<void> {
  const [ptyModule, fs, os, path, { BentoClient }, { execFileSync }] = await Promise.all([
    import('node-pty'),
    import('node:fs'),
    import('node:os'),
    import('node:path'),
    import('../src/api/client.js'),
    import('node:child_process'),
  ]);
  // node-pty is CommonJS: its exports come as the namespace or as its default, depending on the loader.
  const pty = (ptyModule as unknown as { default?: typeof ptyModule }).default ?? ptyModule;
  const root = path.resolve(import.meta.dirname, '..');
  // BENTO_DIST: a copy of dist/ that a concurrent `npm run build` cannot remove mid-run.
  const bento = path.join(process.env.BENTO_DIST ?? path.join(root, 'dist'), 'bento.js');
  if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-tui-'));
  const env = { ...process.env, BENTO_HOME: home, NODE_ENV: '' } as Record<string, string>;
  const sock = path.join(home, 'bentod.sock');
  try {
    execFileSync('node', [bento, 'ls'], { env });
    const client = new BentoClient(sock);
    // Definitions only: a kernel path is enough to define a VM; nothing boots.
    const kernel = path.join(home, 'vmlinuz');
    fs.writeFileSync(kernel, '');
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < N) {
          const k = ++next;
          await client.create({ name: `vm-${String(k).padStart(4, '0')}`, kernel, cpus: (k % 2) + 1, memory: `${128 * ((k % 4) + 1)}M` });
        }
      }),
    );
    const p = pty.spawn('node', [bento], { name: 'xterm-256color', cols: 120, rows: 40, env });
    let last = 0;
    let seen = '';
    p.onData((d) => {
      last = performance.now();
      seen += d;
    });
    const start = Date.now();
    while (!seen.includes(`${N}/${N}`) && !seen.includes(`1/${N}`)) {
      if (Date.now() - start > 30_000) throw new Error('the TUI did not show the table');
      await sleep(20);
    }
    await sleep(500);
    const times: number[] = [];
    for (let i = 0; i < KEYS + 10; i++) {
      const t0 = performance.now();
      const before = last;
      p.write(i % 50 < 25 ? 'j' : 'k');
      while (last === before) await sleep(1);
      // The frame may come in more than one chunk: wait until output has been quiet for 10 ms.
      while (performance.now() - last < 10) await sleep(2);
      if (i >= 10) times.push(last - t0);
      await sleep(GAP_MS);
    }
    p.write('q');
    await sleep(300);
    p.kill();
    console.log(`TUI keypress -> frame, ${N} VMs, end to end (node dist/bento.js in a 120x40 pty, real bentod)`);
    console.log(`  ${KEYS} keys ${GAP_MS} ms apart: ${fmt(times)}  (goal: p50 < 16 ms)`);
  } finally {
    try {
      process.kill(Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8')));
    } catch {
      // bentod already gone
    }
    fs.rmSync(home, { recursive: true, force: true });
  }
}

await (process.argv.includes('--pty') ? inPty() : inProcess());
process.exit(0);
