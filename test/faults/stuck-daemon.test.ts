import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENTO, bento, cleanupHome, daemonPid, guest, tempHome } from '../helpers/bento.js';

/** Starts `bento ARGS` in the background; resolves with its result and how long it took. */
function timed(home: string, args: string[]): { started: number; done: Promise<{ exitCode: number | undefined; stderr: string; ms: number }> } {
  const started = Date.now();
  const p = execa('node', [BENTO, ...args], { env: { BENTO_HOME: home }, reject: false, timeout: 150_000 });
  return { started, done: p.then((r) => ({ exitCode: r.exitCode, stderr: String(r.stderr), ms: Date.now() - started })) };
}

describe('a stopped (kill -STOP) bentod: every command gives up within its timeout with one clear line', () => {
  let home: string;
  let pid: number;
  beforeAll(async () => {
    home = tempHome();
    const { kernel } = guest();
    for (const n of ['a', 'b']) {
      const r = await bento(home, ['create', n, '--kernel', kernel, '--accel', 'tcg']);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    pid = daemonPid(home)!;
  });
  afterAll(async () => {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone
    }
    const log = fs.readFileSync(path.join(home, 'bentod.log'), 'utf8');
    await cleanupHome(home);
    // The requests that queued up while bentod was stopped run after SIGCONT, to clients long gone:
    // that must not raise anything (a console upgrade answering a closed socket once did, with EPIPE).
    expect(log).not.toMatch(/uncaught exception|unhandled rejection/);
  });

  it('request commands', async () => {
    process.kill(pid, 'SIGSTOP');
    try {
      // [args, the timeout in seconds the command allows]
      const cases: [string[], number][] = [
        [['ls'], 10],
        [['ls', '--json'], 10],
        [['inspect', 'a'], 10],
        [['create', 'c', '--kernel', '/bin/true'], 30],
        [['start', 'a'], 70],
        [['stop', 'a', '--timeout', '1'], 16],
        [['stop', 'a', '--force'], 15],
        [['pause', 'a'], 10],
        [['resume', 'a'], 10],
        [['restart', 'a', '--force'], 85],
        [['rm', 'b'], 10],
        [['rm', 'b', '--force'], 25],
        [['logs', 'a'], 10],
        [['logs', '-f', 'a'], 10],
        [['events'], 10],
        [['console', 'a'], 10],
      ];
      const runs = cases.map(([args, s]) => ({ args, s, run: timed(home, args) }));
      for (const { args, s, run } of runs) {
        const r = await run.done;
        const label = `bento ${args.join(' ')}`;
        expect(r.exitCode, label).toBe(1);
        expect(r.stderr.trim(), label).toBe(`bento: bentod (pid ${pid}) did not answer in ${s} s`);
        expect(r.ms, label).toBeGreaterThanOrEqual(s * 1000 - 500);
        expect(r.ms, label).toBeLessThan(s * 1000 + 5000);
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  it('streams that are already open notice a stuck bentod: logs -f by probing, events by the missing heartbeat', async () => {
    const logs = timed(home, ['logs', '-f', 'a']);
    const events = timed(home, ['events']);
    await new Promise((r) => setTimeout(r, 1500));
    process.kill(pid, 'SIGSTOP');
    const stoppedAt = Date.now();
    try {
      const [l, e] = await Promise.all([logs.done, events.done]);
      expect(l.exitCode).toBe(1);
      expect(l.stderr.trim()).toBe(`bento: bentod (pid ${pid}) did not answer in 10 s`);
      // A probe every 5 s, each allowed 10 s.
      expect(logs.started + l.ms - stoppedAt).toBeLessThan(17_000);
      expect(e.exitCode).toBe(1);
      expect(e.stderr.trim()).toBe(`bento: bentod (pid ${pid}) did not answer in 15 s`);
      expect(events.started + e.ms - stoppedAt).toBeLessThan(17_000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  it('logs -f of a VM that is then deleted ends, saying so', async () => {
    // Requests queued while bentod was stopped ran after SIGCONT: use a VM of its own.
    const mk = await bento(home, ['create', 'gone', '--kernel', guest().kernel, '--accel', 'tcg']);
    expect(mk.exitCode, mk.stderr).toBe(0);
    const logs = timed(home, ['logs', '-f', 'gone']);
    await new Promise((r) => setTimeout(r, 1500));
    const rm = await bento(home, ['rm', 'gone']);
    expect(rm.exitCode, rm.stderr).toBe(0);
    const l = await logs.done;
    expect(l.exitCode).toBe(1);
    expect(l.stderr.trim()).toBe('bento: gone was deleted; the log stream ended');
    expect(l.ms).toBeLessThan(5000);
  });
});
