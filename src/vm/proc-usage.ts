import fs from 'node:fs';

/**
 * Clock ticks per second of /proc/PID/stat's utime and stime. USER_HZ is 100 on every Linux
 * architecture Node runs on; asking `getconf CLK_TCK` would spawn a process every sample.
 */
export const CLOCK_TICKS_PER_SECOND = 100;

/** A process's CPU time and resident memory at one instant. */
export interface ProcUsage {
  /** user + system CPU seconds since the process started (all its threads). */
  cpuSeconds: number;
  rssBytes: number;
}

/** utime + stime (fields 14 and 15) of a /proc/PID/stat line, in seconds, or null when malformed. */
export function cpuSecondsFromStat(text: string): number | null {
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || rest[11] === '' || rest[12] === '') return null;
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}

/** VmRSS of a /proc/PID/status text, in bytes, or null (a kernel thread or zombie has none). */
export function rssFromStatus(text: string): number | null {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/**
 * CPU time and RSS of a live process from /proc (two small synchronous reads, no process spawned),
 * or null when it is gone or this is not Linux.
 */
export function procUsage(pid: number): ProcUsage | null {
  if (process.platform !== 'linux' || !Number.isSafeInteger(pid) || pid <= 0) return null;
  try {
    const cpu = cpuSecondsFromStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    const rss = rssFromStatus(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return cpu === null || rss === null ? null : { cpuSeconds: cpu, rssBytes: rss };
  } catch {
    return null;
  }
}
