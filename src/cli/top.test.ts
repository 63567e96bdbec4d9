import { describe, expect, it } from 'vitest';
import type { VmSample } from '../vm/types.js';
import { formatNotes, formatTop, parseInterval } from './top.js';

const sample = (cpuPercent: number, over: Partial<VmSample> = {}): VmSample => ({
  at: '2024-01-01T00:00:00.000Z',
  cpuPercent,
  rssBytes: 300 * 1024 * 1024,
  guestMemUsedBytes: null,
  guestMemTotalBytes: null,
  diskReadBps: 0,
  diskWriteBps: 12 * 1024 * 1024,
  netRxBps: null,
  netTxBps: null,
  ...over,
});

describe('bento top', () => {
  it('prints NAME STATE CPU% with a sparkline, MEM, GUEST-MEM, DISK-R/W, NET-RX/TX', () => {
    const out = formatTop([
      { vm: { name: 'busy', state: 'running' }, history: [sample(0), sample(50), sample(99.6)] },
      { vm: { name: 'off', state: 'stopped' }, history: [] },
    ]).split('\n');
    expect(out[0]).toMatch(/^NAME\s+STATE\s+CPU%\s+MEM\s+GUEST-MEM\s+DISK-R\/W\s+NET-RX\/TX$/);
    expect(out[1]).toMatch(/^busy\s+running\s+100%\s+ {7}▁▅█\s+300M\s+-\s+0\/12M\/s\s+-\/-$/);
    expect(out[2]).toMatch(/^off\s+stopped\s+-\s+-\s+-\s+-\s+-$/);
  });

  it('lists each distinct note once', () => {
    const n = { net: 'n/a: QEMU user networking keeps no counters' };
    expect(formatNotes({ a: n, b: n, c: { ...n, guestMem: 'n/a: no balloon' } })).toEqual(['GUEST-MEM: n/a: no balloon', 'NET: n/a: QEMU user networking keeps no counters']);
  });

  it('refuses a bad interval', () => {
    expect(parseInterval('2')).toBe(2000);
    expect(parseInterval('0.5')).toBe(500);
    expect(() => parseInterval('0')).toThrow(/interval must be/);
    expect(() => parseInterval('abc')).toThrow(/interval must be/);
  });
});
