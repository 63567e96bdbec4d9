import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BentoError } from '../../src/vm/errors.js';
import { COUNTER, ticks } from '../helpers/counter.js';
import { bento, cleanupHome, client, createGuest, qemuPids, serialLog, tempHome, typeSerial, waitFor, waitForLog } from '../helpers/bento.js';

interface Listed {
  name: string;
  state: string;
  reason: string | null;
  pid: number | null;
  savedState: { at: string; bytes: number } | null;
}

async function listed(home: string, name: string): Promise<Listed> {
  const r = await bento(home, ['ls', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Listed[]).find((v) => v.name === name)!;
}

function events(home: string, name: string): { state: string; previous: string; reason: string | null }[] {
  return fs
    .readFileSync(path.join(home, 'vms', name, 'events.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { state: string; previous: string; reason: string | null });
}

describe('suspend to disk with a real guest under TCG', () => {
  let home: string;
  let dir: string;
  beforeAll(() => {
    home = tempHome();
    dir = path.join(home, 'vms', 'c');
  });
  afterAll(() => cleanupHome(home));

  it('a counter in guest RAM continues after suspend and start from where it stopped', async () => {
    await createGuest(home, 'c');
    expect((await bento(home, ['start', 'c'])).exitCode).toBe(0);
    await waitForLog(home, 'c', 'BENTO-GUEST-READY', 120_000);
    await typeSerial(home, 'c', COUNTER);
    await waitFor('tick 3', () => ticks(serialLog(home, 'c')).includes(3), 60_000, 200);

    const s = await bento(home, ['suspend', 'c']);
    expect(s.exitCode, s.stderr).toBe(0);
    const file = path.join(dir, 'saved.state');
    expect(s.stdout.trim()).toMatch(new RegExp(`^c suspended to ${file.replace(/[.]/g, '\\.')} \\(\\d+(\\.\\d)? MiB\\) in \\d+\\.\\d s; bento start c resumes it$`));
    // Complete, renamed, nothing half-written, and qemu gone: the disks are nobody's now.
    expect(fs.existsSync(file)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'saved.state.partial'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'migrate.sock'))).toBe(false);
    expect(qemuPids(dir)).toEqual([]);
    const saved = await listed(home, 'c');
    expect([saved.state, saved.reason, saved.pid]).toEqual(['stopped', 'saved', null]);
    expect(saved.savedState?.bytes).toBe(fs.statSync(file).size);
    expect(events(home, 'c').slice(-2).map((e) => [e.previous, e.state, e.reason])).toEqual([
      ['running', 'saving', null],
      ['saving', 'stopped', 'saved'],
    ]);
    const before = ticks(serialLog(home, 'c'));
    const last = before[before.length - 1]!;
    const logAtSuspend = serialLog(home, 'c').length;

    const r = await bento(home, ['start', 'c']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^c running \(pid \d+/);
    expect(events(home, 'c').slice(-2).map((e) => [e.previous, e.state])).toEqual([
      ['stopped', 'restoring'],
      ['restoring', 'running'],
    ]);
    // Consumed before the guest ran: a second start could never bring back this RAM.
    expect(fs.existsSync(file)).toBe(false);
    expect((await listed(home, 'c')).savedState).toBeNull();
    await waitFor('ticks after the restore', () => ticks(serialLog(home, 'c'), logAtSuspend).length >= 2, 60_000, 200);
    const after = ticks(serialLog(home, 'c'), logAtSuspend);
    // Not from boot: the very next number after the last one printed before the suspend.
    expect(after.slice(0, 2)).toEqual([last + 1, last + 2]);
  });

  it('refuses changes to a saved VM, and suspend of a VM that is not running; start --discard boots afresh', async () => {
    expect((await bento(home, ['suspend', 'c'])).exitCode).toBe(0);
    const err = await client(home)
      .patch('c', { cpus: 2 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BentoError);
    expect((err as BentoError).message).toBe('c has a saved state: s resumes it (bento start --discard drops it) before it can be changed');
    expect((err as BentoError).code).toBe('invalid-state');
    const again = await bento(home, ['suspend', 'c']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr.trim()).toBe('bento: c is already saved to disk: s resumes it (bento start c)');
    expect((await listed(home, 'c')).savedState).not.toBeNull();

    const logBefore = serialLog(home, 'c').length;
    const d = await bento(home, ['start', 'c', '--discard']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'saved.state'))).toBe(false);
    expect(events(home, 'c').slice(-2).map((e) => e.state)).toEqual(['starting', 'running']);
    await waitForLog(home, 'c', 'BENTO-GUEST-READY', 120_000, logBefore);
    // A fresh boot: no counter runs in it.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(ticks(serialLog(home, 'c'), serialLog(home, 'c').indexOf('BENTO-GUEST-READY', logBefore))).toEqual([]);
    expect(fs.readFileSync(path.join(home, 'bentod.log'), 'utf8')).toMatch(/c: discarded its saved state \(\d+ bytes from .*\); booting afresh/);
  });

  it('a VM suspended while paused comes back paused, and resumes with its RAM', async () => {
    await typeSerial(home, 'c', COUNTER);
    const logStart = serialLog(home, 'c').length;
    await waitFor('tick 2', () => ticks(serialLog(home, 'c'), logStart).includes(2), 60_000, 200);
    expect((await bento(home, ['pause', 'c'])).exitCode).toBe(0);
    const s = await bento(home, ['suspend', 'c']);
    expect(s.exitCode, s.stderr).toBe(0);
    expect(events(home, 'c').slice(-2).map((e) => [e.previous, e.state, e.reason])).toEqual([
      ['paused', 'saving', null],
      ['saving', 'stopped', 'saved'],
    ]);
    const last = ticks(serialLog(home, 'c'), logStart).pop()!;
    const at = serialLog(home, 'c').length;
    const r = await bento(home, ['start', 'c']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await listed(home, 'c')).state).toBe('paused');
    expect(fs.existsSync(path.join(dir, 'saved.state'))).toBe(false);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(ticks(serialLog(home, 'c'), at)).toEqual([]);
    expect((await bento(home, ['resume', 'c'])).exitCode).toBe(0);
    await waitFor('a tick after resume', () => ticks(serialLog(home, 'c'), at).length > 0, 60_000, 200);
    expect(ticks(serialLog(home, 'c'), at)[0]).toBe(last + 1);
  });

  it('rm deletes a saved VM with its state', async () => {
    expect((await bento(home, ['suspend', 'c'])).exitCode).toBe(0);
    expect(fs.existsSync(path.join(dir, 'saved.state'))).toBe(true);
    const rm = await bento(home, ['rm', 'c']);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
  });
});
