import { describe, expect, it } from 'vitest';
import type { QmpClient } from './qmp.js';
import { blockTotals, GUEST_MEM_UNREPORTED, guestMemory, QemuCounters, writableDevices, type BalloonGuestStats } from './qemu-stats.js';

describe('qemu disk counters', () => {
  it('sums only the writable drives (not the CD, the seed or a read-only disk)', () => {
    const writable = writableDevices([
      { device: 'disk0', inserted: { ro: false } },
      { device: 'disk1', inserted: { ro: true } },
      { device: 'cd0', inserted: { ro: true } },
      { device: 'seed0' },
      { device: 'disk2', inserted: { ro: false } },
    ]);
    expect([...writable].sort()).toEqual(['disk0', 'disk2']);
    const st = (device: string, rd: number, wr: number) => ({ device, stats: { rd_bytes: rd, wr_bytes: wr } });
    expect(blockTotals([st('disk0', 10, 20), st('disk1', 1000, 0), st('cd0', 5000, 0), st('disk2', 1, 2), { qdev: 'x', stats: { rd_bytes: 9, wr_bytes: 9 } }], writable)).toEqual({
      read: 11,
      write: 22,
    });
  });
});

// Recorded from QEMU 7.2 with the test guest (256 MiB, virtio_balloon loaded): `qom-get
// /machine/peripheral/balloon0 guest-stats`, raw JSON text so JSON.parse's handling of uint64 -1 is exercised.
const UNREPORTED =
  '{"stats": {"stat-htlb-pgalloc": 18446744073709551615, "stat-swap-out": 18446744073709551615, "stat-available-memory": 18446744073709551615, "stat-htlb-pgfail": 18446744073709551615, "stat-free-memory": 18446744073709551615, "stat-minor-faults": 18446744073709551615, "stat-major-faults": 18446744073709551615, "stat-total-memory": 18446744073709551615, "stat-swap-in": 18446744073709551615, "stat-disk-caches": 18446744073709551615}, "last-update": 0}';
const REPORTED =
  '{"stats": {"stat-htlb-pgalloc": 0, "stat-swap-out": 0, "stat-available-memory": 182718464, "stat-htlb-pgfail": 0, "stat-free-memory": 178479104, "stat-minor-faults": 2140, "stat-major-faults": 0, "stat-total-memory": 215810048, "stat-swap-in": 0, "stat-disk-caches": 6500352}, "last-update": 1796038825}';

describe('guest memory from the balloon stats', () => {
  it('is total and total minus available once the guest has reported', () => {
    expect(guestMemory(JSON.parse(REPORTED) as BalloonGuestStats)).toEqual({ total: 215810048, used: 215810048 - 182718464 });
  });

  it('is null while every stat is QEMU\'s uint64 -1 (before the guest driver reports)', () => {
    expect(guestMemory(JSON.parse(UNREPORTED) as BalloonGuestStats)).toBeNull();
    expect(guestMemory({})).toBeNull();
    expect(guestMemory({ stats: { 'stat-total-memory': -1, 'stat-available-memory': -1 } })).toBeNull();
  });

  it('falls back to free memory when the guest does not report available memory', () => {
    const stats = (JSON.parse(REPORTED) as BalloonGuestStats).stats!;
    delete stats['stat-available-memory'];
    expect(guestMemory({ stats })).toEqual({ total: 215810048, used: 215810048 - 178479104 });
    expect(guestMemory({ stats: { ...stats, 'stat-free-memory': 2 ** 64 } })).toBeNull();
  });

  it('never reports more used than total, nor a zero total', () => {
    expect(guestMemory({ stats: { 'stat-total-memory': 100, 'stat-available-memory': 150 } })).toEqual({ total: 100, used: 0 });
    expect(guestMemory({ stats: { 'stat-total-memory': 0, 'stat-available-memory': 0 } })).toBeNull();
  });
});

/** A QMP stand-in answering from a table (or failing with an error) per command. */
function fakeQmp(answers: Record<string, unknown>): QmpClient {
  return {
    closed: false,
    execute: (cmd: string) => {
      const a = answers[cmd];
      return a instanceof Error ? Promise.reject(a) : Promise.resolve(a);
    },
  } as unknown as QmpClient;
}

describe('QemuCounters guest memory', () => {
  const disks = { 'query-block': [], 'query-blockstats': [] };

  it('fills the figures and drops the note once the guest reports', async () => {
    const c = await new QemuCounters(process.pid, () => fakeQmp({ ...disks, 'qom-get': JSON.parse(REPORTED) })).read();
    expect(c.guestMemTotalBytes).toBe(215810048);
    expect(c.guestMemUsedBytes).toBe(215810048 - 182718464);
    expect(c.notes.guestMem).toBeUndefined();
  });

  it('keeps them null with the reason before the guest reports, or without a balloon', async () => {
    const early = await new QemuCounters(process.pid, () => fakeQmp({ ...disks, 'qom-get': JSON.parse(UNREPORTED) })).read();
    expect(early.guestMemTotalBytes).toBeNull();
    expect(early.notes.guestMem).toBe(GUEST_MEM_UNREPORTED);
    const none = await new QemuCounters(process.pid, () => fakeQmp({ ...disks, 'qom-get': new Error("Device '/machine/peripheral/balloon0' not found") })).read();
    expect(none.guestMemUsedBytes).toBeNull();
    expect(none.notes.guestMem).toMatch(/no balloon device/);
  });
});
