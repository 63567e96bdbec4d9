import fs from 'node:fs';
import { tryLockExclusive } from '../native/lock.js';
import { processAlive } from './proc.js';

/** Linux dev_t split the way the kernel prints it in /proc/locks (major:minor in hex). */
function devParts(dev: number): { major: number; minor: number } {
  const big = BigInt(dev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * True while some process holds a lock on `file` (bento-vmm's flock on vmm.lock, which its qemu
 * inherits, so it stays held while either lives). Linux reads /proc/locks, which takes no lock
 * itself; elsewhere a non-blocking flock is tried and let go at once.
 */
export function lockHeld(file: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return probeByFlock(file);
  const { major, minor } = devParts(st.dev);
  const want = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  let text: string;
  try {
    text = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return probeByFlock(file);
  }
  for (const line of text.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 1234 00:2d:5678 0 EOF"; lines with "->" are waiters, not holders.
    if (line.includes('->')) continue;
    const f = line.trim().split(/\s+/);
    if (f[5] === want) return true;
  }
  return false;
}

/** The live pid written in a lock file (bento-vmm writes its own), or null. */
export function holderPid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 && processAlive(pid) ? pid : null;
  } catch {
    return null;
  }
}

/** Tries the lock without waiting: taken means nobody held it (it is released at once). */
function probeByFlock(file: string): boolean {
  try {
    const held = tryLockExclusive(file);
    held?.release();
    return held === null;
  } catch {
    // No addon (a broken build): the pid written in the file is the next best witness.
    return holderPid(file) !== null;
  }
}
