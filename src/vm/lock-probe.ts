import fs from 'node:fs';
import { processAlive } from './proc.js';

/** Linux dev_t split the way the kernel prints it in /proc/locks (major:minor in hex). */
function devParts(dev: number): { major: number; minor: number } {
  const big = BigInt(dev);
  const major = Number(((big >> 8n) & 0xfffn) | ((big >> 32n) & ~0xfffn));
  const minor = Number((big & 0xffn) | ((big >> 12n) & ~0xffn));
  return { major, minor };
}

/**
 * True while some process holds a lock on `file` (bento-vmm's flock on vm.lock, which its qemu
 * inherits). Linux reads /proc/locks, which also sees a lock held through an inherited descriptor
 * after the locker died; elsewhere the pid written in the file is checked instead.
 */
export function lockHeld(file: string): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return holderPid(file) !== null;
  const { major, minor } = devParts(st.dev);
  const want = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  let text: string;
  try {
    text = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    return holderPid(file) !== null;
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
