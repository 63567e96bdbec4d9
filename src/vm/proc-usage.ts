import fs from 'node:fs';
import type { VmCounters } from './drivers/driver.js';
import type { VmStatsNotes } from './types.js';

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

/** utime + stime (fields 14 and 15) and rss (field 24, in pages) of a /proc/PID/stat line, or null when malformed. */
export function parseStat(text: string): { cpuSeconds: number; rssPages: number } | null {
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const [utime, stime, rss] = [rest[11], rest[12], rest[21]].map((f) => (f && /^\d+$/.test(f) ? Number(f) : NaN));
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || !Number.isFinite(rss)) return null;
  return { cpuSeconds: (utime! + stime!) / CLOCK_TICKS_PER_SECOND, rssPages: rss! };
}

/** VmRSS of a /proc/PID/status text, in bytes, or null (a kernel thread or zombie has none). */
export function rssFromStatus(text: string): number | null {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

/** The page size rss counts in, learnt once from this process (stat's pages against status's kB); 4096 if that fails. */
let pageSize: number | null = null;
function pageBytes(): number {
  if (pageSize !== null) return pageSize;
  pageSize = 4096;
  try {
    const pages = parseStat(fs.readFileSync('/proc/self/stat', 'utf8'))?.rssPages;
    const bytes = rssFromStatus(fs.readFileSync('/proc/self/status', 'utf8'));
    if (pages && bytes) for (const size of [4096, 16384, 65536]) if (Math.abs(bytes / pages - size) < size / 4) pageSize = size;
  } catch {
    // keep 4096
  }
  return pageSize;
}

/**
 * CPU time and RSS of a live process from /proc/PID/stat (one small synchronous read, no process
 * spawned), or null when it is gone or this is not Linux.
 */
export function procUsage(pid: number): ProcUsage | null {
  if (process.platform !== 'linux' || !Number.isSafeInteger(pid) || pid <= 0) return null;
  try {
    const st = parseStat(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return st ? { cpuSeconds: st.cpuSeconds, rssBytes: st.rssPages * pageBytes() } : null;
  } catch {
    return null;
  }
}

/**
 * A reading with the process's CPU and RSS (when pid is given and alive) and no other figure; `notes`
 * says why the others are missing. Backends fill in what more they know.
 */
export function processCounters(pid: number | null, notes: VmStatsNotes): VmCounters {
  const atMs = performance.now();
  const u = pid === null ? null : procUsage(pid);
  return {
    atMs,
    cpuSeconds: u?.cpuSeconds ?? null,
    rssBytes: u?.rssBytes ?? null,
    ioAtMs: atMs,
    diskReadBytes: null,
    diskWriteBytes: null,
    netRxBytes: null,
    netTxBytes: null,
    guestMemUsedBytes: null,
    guestMemTotalBytes: null,
    notes,
  };
}
