import { afterEach, describe, expect, test } from 'vitest';
import { fakeVm } from './fake-client.js';
import { snapshotAge, snapshotKind, snapshotRows } from './snapshot-view.js';
import { renderApp, settle, type Harness } from './test/render-app.js';
import type { Snapshot } from '../vm/types.js';

let h: Harness;
/** Waits (up to 2 s) until a condition on the screen holds. */
async function settleFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await settle(10);
  expect(ok()).toBe(true);
}
afterEach(() => h?.unmount());

const running = (name: string) => fakeVm(name, { state: 'running', pid: 100, startedAt: new Date().toISOString() });
const calls = (method: string) => h.client.calls.filter((c) => c.method === method);
const snap = (tag: string, over: Partial<Snapshot> = {}): Snapshot => ({ tag, createdAt: new Date(Date.now() - 300_000).toISOString(), vmStateBytes: 1, withRam: true, state: 'running', diskBytes: null, complete: true, ...over });

describe('snapshot wording', () => {
  test('ages, kinds, and the details rows with a cap', () => {
    const now = Date.parse('2024-01-01T12:00:00Z');
    expect(snapshotAge('2024-01-01T11:59:30Z', now)).toBe('30s ago');
    expect(snapshotAge('2024-01-01T09:00:00Z', now)).toBe('3h ago');
    expect(snapshotKind(snap('a'))).toBe('RAM');
    expect(snapshotKind(snap('a', { state: 'paused' }))).toBe('RAM, paused');
    expect(snapshotKind(snap('a', { withRam: false, state: 'stopped', vmStateBytes: 0 }))).toBe('disk');
    expect(snapshotKind(snap('a', { complete: false }))).toBe('incomplete');
    expect(snapshotRows([], null, 3)).toEqual(['none (v takes one)']);
    expect(snapshotRows(null, 'snapshots of vz VMs are not supported', 3)).toEqual(['snapshots of vz VMs are not supported']);
    const rows = snapshotRows([snap('a'), snap('b'), snap('c'), snap('d')], null, 3);
    expect(rows).toHaveLength(3);
    expect(rows[2]).toBe('+2 more (V lists them)');
  });
});

describe('snapshot keys', () => {
  test('v takes a snapshot and the details pane lists it; V opens the chooser; Enter asks, y restores', async () => {
    h = await renderApp([running('web')], { rows: 40 });
    await h.waitFor('details · web');
    expect(h.frame()).not.toMatch(/│ snapshot /);
    await h.press('v');
    await h.waitFor(/web: snapshot snap-1 taken \(RAM\)/);
    await h.waitFor(/snapshot\s+snap-1 · \d+s ago · RAM/);
    await h.press('V');
    await h.waitFor('Snapshots · web');
    await h.press('\r');
    await h.waitFor('Restore web to snap-1?');
    expect(h.frame()).toContain('running state and its disks are replaced');
    await h.press('y');
    await h.waitFor('web: restored snap-1; web is running');
    expect(calls('restoreSnapshot')).toEqual([{ method: 'restoreSnapshot', args: ['web', 'snap-1'] }]);
  });

  test('in the chooser D asks before removing, n keeps it, Esc closes; nothing restored', async () => {
    h = await renderApp([fakeVm('db')], { rows: 40 });
    h.client.snaps.set('db', [snap('old', { withRam: false, state: 'stopped', vmStateBytes: 0 })]);
    await h.press('V');
    await h.waitFor(/old · \d+m ago · disk/);
    await h.press('D');
    await h.waitFor('Remove snapshot old of db?');
    await h.press('n');
    await h.waitFor('Snapshots · db');
    await h.press('D');
    await h.waitFor('Remove snapshot old of db?');
    await h.press('y');
    await h.waitFor('db: removed snapshot old');
    await h.waitFor('no snapshots yet (v takes one)');
    await h.press('\u001b');
    await h.waitFor(/db\s+○ stopped/);
    await settleFor(() => !h.frame().includes('Snapshots · db'));
    expect(h.frame()).not.toMatch(/│ snapshot /);
    expect(calls('removeSnapshot')).toHaveLength(1);
    expect(calls('restoreSnapshot')).toHaveLength(0);
  });

  test('v on a VM in a transitional state is refused with a reason and sends nothing', async () => {
    h = await renderApp([fakeVm('web', { state: 'starting' })]);
    await h.press('v');
    expect(h.frame()).toContain('✗ web is starting: snapshots wait until it is running, paused or stopped');
    expect(calls('snapshot')).toHaveLength(0);
  });
});
