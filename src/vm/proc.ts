import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Enough to tell one process from a later one that reuses its pid. */
export interface ProcessIdentity {
  pid: number;
  /** Linux: start time in clock ticks after boot (/proc/PID/stat field 22); macOS: `ps -o lstart`. */
  startTime: string;
}

/** Is the process alive (a zombie counts as dead: it has exited, only its parent has not reaped it)? */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to someone else; still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform === 'linux') return linuxStat(pid)?.state !== 'Z';
  return true;
}

function linuxStat(pid: number): { state: string; startTime: string } | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const start = rest[19];
  return state && start ? { state, startTime: start } : null;
}

/** The identity of a live process, or null when it is gone. */
export function processIdentity(pid: number): ProcessIdentity | null {
  if (!processAlive(pid)) return null;
  if (process.platform === 'linux') {
    const st = linuxStat(pid);
    return st ? { pid, startTime: st.startTime } : null;
  }
  try {
    const lstart = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return lstart ? { pid, startTime: lstart } : null;
  } catch {
    return null;
  }
}

/** The argv of a live process, or null (Linux reads /proc; elsewhere `ps`, as one string). */
export function processArgv(pid: number): string[] | null {
  if (process.platform === 'linux') {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      return null;
    }
  }
  try {
    return [execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' }).trim()];
  } catch {
    return null;
  }
}

/**
 * True when pid is still the very process we recorded: same start time, and its command line
 * mentions `marker` (the VM's own QMP socket path), so a reused pid is never mistaken for our VM.
 */
export function isSameProcess(recorded: ProcessIdentity, marker: string): boolean {
  const now = processIdentity(recorded.pid);
  if (!now || now.startTime !== recorded.startTime) return false;
  const argv = processArgv(recorded.pid);
  return argv !== null && argv.some((a) => a.includes(marker));
}

/** Resolves when the process has exited, or false after timeoutMs. */
export async function waitForExit(pid: number, timeoutMs: number, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return true;
}
