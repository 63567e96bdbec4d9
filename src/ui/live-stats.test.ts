import { afterEach, describe, expect, test } from 'vitest';
import type { VmSample } from '../vm/types.js';
import { FakeClient, fakeVm } from './fake-client.js';
import { applyStats } from './live-stats.js';
import { cellText, cpuCell, tableColumns } from './table-columns.js';
import { statsRows, wrapNote } from './vm-details.js';
import { createVmStore, type VmStore } from './vm-store.js';

const settle = (ms = 10): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sample = (cpuPercent: number, over: Partial<VmSample> = {}): VmSample => ({
  at: '',
  cpuPercent,
  rssBytes: 200 << 20,
  guestMemUsedBytes: null,
  guestMemTotalBytes: null,
  diskReadBps: 0,
  diskWriteBps: 0,
  netRxBps: null,
  netTxBps: null,
  ...over,
});
const NET = { net: 'n/a: QEMU user networking keeps no counters' };
let store: VmStore | null = null;
afterEach(() => store?.dispose());

describe('live figures in the store', () => {
  test('the store subscribes with stats and keeps the last minute per VM; a stopped VM loses its figures', async () => {
    const client = new FakeClient([fakeVm('a', { state: 'running' }), fakeVm('b', { state: 'running' })]);
    store = createVmStore(client);
    store.start();
    await settle();
    expect(client.statsSubscribers.size).toBe(1);
    for (let i = 0; i < 70; i++) client.emitStats({ at: '', vms: { a: sample(i), b: sample(1) }, notes: i === 0 ? { a: NET, b: NET } : undefined });
    const a = store.getState().stats.get('a')!;
    expect(a.history).toHaveLength(60);
    expect(a.history.at(-1)!.cpuPercent).toBe(69);
    expect(a.notes).toEqual(NET); // kept though sent only with the first event
    const vmsBefore = store.getState().vms;
    client.emitStats({ at: '', vms: { a: sample(5) } });
    expect(store.getState().vms).toBe(vmsBefore); // figures never rebuild the VM list
    client.setState('b', 'stopped');
    expect(store.getState().stats.has('b')).toBe(false);
    store.dispose();
    expect(client.statsSubscribers.size).toBe(0);
  });

  test('applyStats gives a new object only to VMs in the event', () => {
    const one = applyStats(new Map(), { at: '', vms: { a: sample(1), b: sample(2) } });
    const two = applyStats(one, { at: '', vms: { a: sample(3) } });
    expect(two.get('b')).toBe(one.get('b'));
    expect(two.get('a')).not.toBe(one.get('a'));
  });
});

describe('the CPU column and the details rows', () => {
  test('the table shows CPU % with a sparkline, before the backend and accelerator, and drops it when narrow', () => {
    expect(tableColumns(97).map((c) => c.id)).toEqual(['name', 'state', 'backend', 'accel', 'cpus', 'memory', 'uptime', 'cpu']);
    // 120 columns with the details pane beside: the table is 74 cells inside.
    expect(tableColumns(74).map((c) => c.id)).toEqual(['name', 'state', 'cpus', 'memory', 'uptime', 'cpu']);
    expect(tableColumns(60).map((c) => c.id)).not.toContain('cpu');
    const stats = { history: [sample(0), sample(50), sample(97.4)], notes: {} };
    expect(cpuCell(stats)).toBe(' 97%      ▁▅█');
    const col = tableColumns(120).find((c) => c.id === 'cpu')!;
    expect(cellText(col, fakeVm('a', { state: 'stopped' }), 0, stats)).toBe('');
    expect(cpuCell(undefined)).toBe('');
  });

  test('the details pane lists every figure, and the reason once for one it lacks', () => {
    const rows = statsRows({ history: [sample(10, { diskWriteBps: 0 }), sample(12, { diskWriteBps: 5 << 20 })], notes: { ...NET, guestMem: 'n/a: no balloon' } }, 4, 30);
    expect(rows).toEqual([
      ['cpu', '12%    ▂▂'],
      ['memory', '200M on the host'],
      ['in guest', 'n/a: no balloon'],
      ['disk io', 'read 0 · write 5.0M/s    ▁█'],
      ['net io', 'n/a: QEMU user networking'],
      ['', 'keeps no counters'],
    ]);
    const guest = statsRows({ history: [sample(1, { guestMemUsedBytes: 100 << 20, guestMemTotalBytes: 200 << 20, netRxBps: 2048, netTxBps: 0 })], notes: {} }, 2);
    expect(guest[2]).toEqual(['in guest', '100M/200M used']);
    expect(guest[4]).toEqual(['net io', 'rx 2.0K/s · tx 0   █']);
    expect(wrapNote('a b c d e f g h i j k l m n o p', 8)).toEqual(['a b c d', 'e f g h…']);
    expect(statsRows(undefined, 4)).toEqual([]);
  });
});
