import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENTO, bento, cleanupHome, client, createGuest, daemonPid, qemuPids, tempHome, waitFor, waitGone } from '../helpers/bento.js';

const BENTOD = path.join(path.dirname(BENTO), 'bentod.js');

/** Runs bentod in the foreground with a fault-injection point armed; resolves with its exit and output. */
async function crashingBentod(home: string, hook: string): Promise<{ exitCode: number | undefined; log: string }> {
  const child = execa('node', [BENTOD], { env: { BENTO_HOME: home, BENTO_TEST_CRASH_AT: hook }, reject: false, all: true });
  await waitFor('bentod to serve', () => fs.existsSync(path.join(home, 'bentod.sock')) && daemonPid(home) === child.pid, 20_000);
  // The hook fires while /api/version is served; the reply may or may not get out first.
  await client(home).version().catch(() => undefined);
  const r = await child;
  return { exitCode: r.exitCode, log: String(r.all) };
}

describe('bentod exits on an uncaught exception or unhandled rejection; VMs survive and are re-adopted', () => {
  let home: string;
  beforeAll(() => {
    home = tempHome();
  });
  afterAll(() => cleanupHome(home));

  it('uncaught exception: the stack is logged, bentod exits non-zero, the running VM is re-adopted by the next bentod', async () => {
    await createGuest(home, 'live');
    const s = await bento(home, ['start', 'live']);
    expect(s.exitCode, s.stderr).toBe(0);
    const vmPid = (await client(home).get('live')).pid;
    expect(vmPid).toBeGreaterThan(0);
    const first = daemonPid(home)!;
    process.kill(first, 'SIGTERM');
    await waitGone(first);

    const crashed = await crashingBentod(home, 'throw:version');
    expect(crashed.exitCode).toBe(70);
    expect(crashed.log).toMatch(/uncaught exception: Error: test hook: uncaught exception at version\n\s+at /);
    expect(crashed.log).toContain('exiting: state unknown');
    expect(qemuPids(path.join(home, 'vms', 'live'))).toEqual([vmPid]);

    const ls = await bento(home, ['ls', '--json']);
    expect(ls.exitCode, ls.stderr).toBe(0);
    const vms = JSON.parse(ls.stdout) as { name: string; state: string; pid: number }[];
    expect(vms.map((v) => [v.name, v.state, v.pid])).toEqual([['live', 'running', vmPid]]);
    const f = await bento(home, ['stop', 'live', '--force']);
    expect(f.exitCode, f.stderr).toBe(0);
  });

  it('unhandled rejection: same treatment', async () => {
    const pid = daemonPid(home)!;
    process.kill(pid, 'SIGTERM');
    await waitGone(pid);
    const crashed = await crashingBentod(home, 'reject:version');
    expect(crashed.exitCode).toBe(70);
    expect(crashed.log).toMatch(/unhandled rejection: Error: test hook: unhandled rejection at version\n\s+at /);
    expect((await bento(home, ['ls'])).exitCode).toBe(0);
  });
});
