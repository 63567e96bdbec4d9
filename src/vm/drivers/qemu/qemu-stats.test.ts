import { describe, expect, it } from 'vitest';
import { blockTotals, writableDevices } from './qemu-stats.js';

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
