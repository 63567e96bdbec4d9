// The supervision core against real processes: `sleep` stands in for qemu or the vz helper.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { processAlive, processArgv } from '../proc.js';
import type { DriverEvent } from './driver.js';
import { stopReason, VmProcess, type VmProcessOptions } from './vm-process.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.pid && processAlive(c.pid)) process.kill(c.pid, 'SIGKILL');
});

/** A `sleep 60`, optionally ignoring SIGTERM; resolves once it is sleep itself (the trap is set). */
async function sleeper(ignoreTerm = false): Promise<number> {
  const child = ignoreTerm ? spawn('sh', ['-c', 'trap "" TERM; exec sleep 60'], { stdio: 'ignore' }) : spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  const pid = child.pid!;
  await expect.poll(() => processArgv(pid)?.[0], { timeout: 5_000 }).toBe('sleep');
  return pid;
}

function supervise(pid: number, over: Partial<VmProcessOptions> = {}): { proc: VmProcess; events: DriverEvent[] } {
  const proc = new VmProcess({ pid, what: 'test vm', lostReason: 'test-lost: alive but deaf', exitAfterCloseMs: 300, termGraceMs: 300, pollMs: 50, ...over });
  const events: DriverEvent[] = [];
  proc.onEvent((ev) => events.push(ev));
  return { proc, events };
}

describe('stopReason', () => {
  it.each([
    [{ forced: true, reported: 'guest-shutdown', record: 'host-killed: SIGKILL' }, 'forced'],
    [{ forced: false, reported: 'guest-shutdown', record: 'host-killed: SIGKILL' }, 'guest-shutdown'],
    [{ forced: false, reported: null, record: 'host-killed: SIGKILL' }, 'host-killed: SIGKILL'],
    [{ forced: false, reported: null, record: null }, 'crashed'],
  ])('%o -> %s', (facts, reason) => {
    expect(stopReason(facts)).toBe(reason);
  });
});

describe('VmProcess', () => {
  it('after the channel closes, reports stopped once the process exits, with the reason the backend gave', async () => {
    const pid = await sleeper();
    const { proc, events } = supervise(pid, { exitAfterCloseMs: 5_000, exitRecord: () => 'host-killed: SIGTERM' });
    proc.emit({ state: 'paused', reason: null });
    proc.backendStopped('guest-shutdown');
    const closed = proc.channelClosed();
    process.kill(pid, 'SIGTERM');
    await closed;
    await proc.exited;
    expect(events).toEqual([
      { state: 'paused', reason: null },
      { state: 'stopped', reason: 'guest-shutdown' },
    ]);
  });

  it('calls a process that outlives its channel lost, watches it, and takes the exit record when it dies', async () => {
    const pid = await sleeper();
    const { proc, events } = supervise(pid, { exitRecord: () => 'host-killed: SIGKILL' });
    const t0 = Date.now();
    await proc.channelClosed();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(events).toEqual([{ state: 'error', reason: 'test-lost: alive but deaf' }]);
    expect(processAlive(pid)).toBe(true);
    process.kill(pid, 'SIGKILL');
    await proc.exited;
    expect(events.at(-1)).toEqual({ state: 'stopped', reason: 'host-killed: SIGKILL' });
  });

  it('says crashed when nothing explains the exit', async () => {
    const pid = await sleeper();
    const { proc, events } = supervise(pid);
    proc.watchExit();
    process.kill(pid, 'SIGKILL');
    await proc.exited;
    expect(events).toEqual([{ state: 'stopped', reason: 'crashed' }]);
  });

  it('kills a process that ignores SIGTERM with SIGKILL after the grace, as forced, winning over the backend reason', async () => {
    const pid = await sleeper(true);
    let closedChannel = 0;
    const { proc, events } = supervise(pid, { closeChannel: () => closedChannel++, exitRecord: () => 'host-killed: SIGKILL' });
    proc.backendStopped('guest-shutdown');
    const t0 = Date.now();
    await proc.kill();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(processAlive(pid)).toBe(false);
    expect(events).toEqual([{ state: 'stopped', reason: 'forced' }]);
    expect(closedChannel).toBe(1);
  });

  it('kills a SIGSTOPped process at once: SIGCONT lets it act on SIGTERM', async () => {
    const pid = await sleeper();
    process.kill(pid, 'SIGSTOP');
    const { proc, events } = supervise(pid, { termGraceMs: 5_000 });
    const t0 = Date.now();
    await proc.kill();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(events).toEqual([{ state: 'stopped', reason: 'forced' }]);
  });

  it('waits on a monitor that never answers only for the soft step budget', async () => {
    const pid = await sleeper();
    let asked = 0;
    const { proc, events } = supervise(pid, { softKill: () => (asked++, new Promise(() => undefined)), softKillMs: 200, termGraceMs: 5_000 });
    const t0 = Date.now();
    await proc.kill();
    const took = Date.now() - t0;
    expect(asked).toBe(1);
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2_000);
    expect(events).toEqual([{ state: 'stopped', reason: 'forced' }]);
  });

  it('signals nothing when the soft step ends the process', async () => {
    const pid = await sleeper(true);
    const { proc, events } = supervise(pid, { softKill: async () => process.kill(pid, 'SIGKILL'), softKillMs: 2_000, termGraceMs: 5_000 });
    await proc.kill();
    expect(events).toEqual([{ state: 'stopped', reason: 'forced' }]);
  });

  it('reports stopped exactly once when the channel closes during a kill', async () => {
    const pid = await sleeper(true);
    const { proc, events } = supervise(pid, { exitAfterCloseMs: 100 });
    const kill = proc.kill();
    // The channel closes while the SIGTERM grace runs: no `lost` error, one `stopped`.
    await proc.channelClosed();
    await kill;
    await proc.kill();
    await proc.finish();
    expect(events).toEqual([{ state: 'stopped', reason: 'forced' }]);
  });

  it('is silent once detached and leaves the process alone', async () => {
    const pid = await sleeper();
    let closedChannel = 0;
    const { proc, events } = supervise(pid, { closeChannel: () => closedChannel++ });
    proc.detach();
    proc.emit({ state: 'paused', reason: null });
    await proc.channelClosed();
    expect(events).toEqual([]);
    expect(processAlive(pid)).toBe(true);
    expect(closedChannel).toBe(1);
  });
});
