import { describe, expect, it } from 'vitest';
import { cpuSecondsFromStat, procUsage, rssFromStatus } from './proc-usage.js';

describe('proc-usage', () => {
  it('reads utime + stime after the last parenthesis (a command name may hold spaces and parens)', () => {
    const line = '4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 12345 1000000 2000 18446744073709551615';
    expect(cpuSecondsFromStat(line)).toBe(3.25);
    expect(cpuSecondsFromStat('garbage')).toBeNull();
  });

  it('reads VmRSS in bytes', () => {
    expect(rssFromStatus('Name:\tqemu\nVmRSS:\t   2048 kB\nThreads: 4\n')).toBe(2048 * 1024);
    expect(rssFromStatus('Name:\tkthreadd\n')).toBeNull();
  });

  it('measures this very process, and null for a pid that is gone', () => {
    const u = procUsage(process.pid);
    expect(u!.rssBytes).toBeGreaterThan(1 << 20);
    expect(u!.cpuSeconds).toBeGreaterThan(0);
    expect(procUsage(2 ** 22 + 1)).toBeNull();
  });
});
