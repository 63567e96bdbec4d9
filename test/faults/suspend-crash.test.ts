import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, createGuest, daemonPid, qemuPids, serialLog, tempHome, typeSerial, waitFor, waitForLog, waitGone } from '../helpers/bento.js';
import { COUNTER, ticks } from '../helpers/counter.js';

/**
 * kill -9 of bentod at exact instants of a suspend and of a restore (BENTO_TEST_CRASH_AT): the next
 * bentod ends the VM either stopped with a complete saved state or running with none, and `bento start`
 * then gives a running guest whose counter goes on from where it was: never an error, never a stale or
 * half-written state used.
 */

interface Listed {
  name: string;
  state: string;
  reason: string | null;
  pid: number | null;
  savedState: { bytes: number } | null;
}

async function listed(home: string, name: string): Promise<Listed> {
  const r = await bento(home, ['ls', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Listed[]).find((v) => v.name === name)!;
}

async function killDaemon(home: string): Promise<void> {
  const pid = daemonPid(home);
  if (pid === null) return;
  process.kill(pid, 'SIGKILL');
  await waitGone(pid);
}

describe('kill -9 of bentod in the middle of suspend or restore', () => {
  let home: string;
  let dir: string;
  const file = (): string => path.join(dir, 'saved.state');
  const partial = (): string => path.join(dir, 'saved.state.partial');

  /** The counter's last tick so far; waits for one more first, so the guest is proven to be running. */
  async function nextTick(after: number): Promise<number> {
    await waitFor(`a tick after ${after}`, () => ticks(serialLog(home, 'c')).some((t) => t > after), 60_000, 200);
    return ticks(serialLog(home, 'c')).pop()!;
  }

  /** Runs a bento command in a fresh bentod that dies at `point`; the command fails, the VM is left as bentod left it. */
  async function crashAt(point: string, args: string[]): Promise<void> {
    await killDaemon(home);
    const r = await bento(home, args, { env: { BENTO_TEST_CRASH_AT: point } });
    expect(r.exitCode, `${args.join(' ')} should have lost its bentod at ${point}`).toBe(1);
    // The bentod that ran the command is gone (it killed itself at the point).
    await waitFor('the crashed bentod to be gone', () => {
      const pid = daemonPid(home);
      return pid === null || !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    });
  }

  /** What the next bentod makes of it: running with no state, or stopped with a complete one and no qemu. */
  async function outcome(): Promise<'running' | 'saved'> {
    const vm = await listed(home, 'c');
    expect(fs.existsSync(partial()), 'a half-written state is never kept').toBe(false);
    if (vm.state === 'running') {
      expect(fs.existsSync(file())).toBe(false);
      expect(vm.savedState).toBeNull();
      expect(qemuPids(dir)).toEqual([vm.pid]);
      return 'running';
    }
    expect([vm.state, vm.reason]).toEqual(['stopped', 'saved']);
    expect(vm.savedState?.bytes).toBe(fs.statSync(file()).size);
    expect(qemuPids(dir)).toEqual([]);
    return 'saved';
  }

  beforeAll(async () => {
    home = tempHome();
    dir = path.join(home, 'vms', 'c');
    await createGuest(home, 'c');
    expect((await bento(home, ['start', 'c'])).exitCode).toBe(0);
    await waitForLog(home, 'c', 'BENTO-GUEST-READY', 120_000);
    await typeSerial(home, 'c', COUNTER);
    await nextTick(2);
  });
  afterAll(() => cleanupHome(home));

  it.each([
    // A running guest: the pause, the stream, and QEMU's `completed` before bentod made the file durable.
    ['suspend-before-pause', 'running'],
    ['suspend-migrating', 'running'],
    ['suspend-after-complete', 'running'],
    // Renamed, but qemu not yet told to quit: the state is complete, so the VM is saved.
    ['suspend-after-rename', 'saved'],
  ] as const)('suspend killed at %s ends %s, and the guest goes on', async (point, expected) => {
    const before = await nextTick(0);
    await crashAt(point, ['suspend', 'c']);
    expect(await outcome()).toBe(expected);
    if (expected === 'saved') {
      const last = ticks(serialLog(home, 'c')).pop()!;
      const at = serialLog(home, 'c').length;
      const s = await bento(home, ['start', 'c']);
      expect(s.exitCode, s.stderr).toBe(0);
      await waitFor('a tick after the restore', () => ticks(serialLog(home, 'c'), at).length > 0, 60_000, 200);
      expect(ticks(serialLog(home, 'c'), at)[0]).toBe(last + 1);
    } else {
      // Still the same guest: its counter goes on past where it was, and a start is refused as already running.
      expect(await nextTick(before)).toBeGreaterThan(before);
      const s = await bento(home, ['start', 'c']);
      expect(s.stderr).toMatch(/already running/);
    }
    expect(fs.existsSync(file())).toBe(false);
  });

  it.each([
    // Still streaming the file into qemu: qemu is ended, the state (not consumed) stays for the next start.
    ['restore-streaming', 'saved'],
    // Loaded, not yet consumed; consumed, not yet continued: the next bentod finishes the job.
    ['restore-loaded', 'running'],
    ['restore-consumed', 'running'],
  ] as const)('restore killed at %s ends %s; then the counter continues from the saved tick', async (point, expected) => {
    await nextTick(0);
    expect((await bento(home, ['suspend', 'c'])).exitCode).toBe(0);
    const last = ticks(serialLog(home, 'c')).pop()!;
    const at = serialLog(home, 'c').length;
    await crashAt(point, ['start', 'c']);
    expect(await outcome()).toBe(expected);
    if (expected === 'saved') {
      const s = await bento(home, ['start', 'c']);
      expect(s.exitCode, s.stderr).toBe(0);
    }
    expect((await listed(home, 'c')).state).toBe('running');
    expect(fs.existsSync(file())).toBe(false);
    await waitFor('a tick after the restore', () => ticks(serialLog(home, 'c'), at).length > 0, 60_000, 200);
    expect(ticks(serialLog(home, 'c'), at)[0]).toBe(last + 1);
    expect(qemuPids(dir)).toHaveLength(1);
  });
});
