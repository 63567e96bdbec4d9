import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { parseStat, procUsage, rssFromStatus } from './proc-usage.js';

describe('proc-usage', () => {
  it('reads utime + stime after the last parenthesis (a command name may hold spaces and parens)', () => {
    const line = '4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0 12345 1000000 2000 18446744073709551615';
    expect(parseStat(line)).toEqual({ cpuSeconds: 3.25, rssPages: 2000 });
    expect(parseStat('garbage')).toBeNull();
  });

  it('reads VmRSS in bytes', () => {
    expect(rssFromStatus('Name:\tqemu\nVmRSS:\t   2048 kB\nThreads: 4\n')).toBe(2048 * 1024);
    expect(rssFromStatus('Name:\tkthreadd\n')).toBeNull();
  });

  it('measures this very process (RSS as status says, within what a read apart moves), and null for a pid that is gone', () => {
    const u = procUsage(process.pid);
    const status = rssFromStatus(fs.readFileSync('/proc/self/status', 'utf8'))!;
    expect(Math.abs(u!.rssBytes - status)).toBeLessThan(status * 0.05);
    expect(u!.cpuSeconds).toBeGreaterThan(0);
    expect(procUsage(2 ** 22 + 1)).toBeNull();
  });
});
