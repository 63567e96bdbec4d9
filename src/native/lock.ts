// An exclusive lock file through flock(2) (native addon): the kernel drops the lock when the holder
// dies, however it dies, so a stale lock can never keep the next process out.
import fs from 'node:fs';
import { BentoError, errorMessage } from '../vm/errors.js';
import { loadNative, type NativeBinding } from './native.js';

/** A lock this process holds; release() unlocks and closes it (safe to call twice). */
export interface HeldLock {
  readonly fd: number;
  release(): void;
}

/**
 * Opens (creating it 0600, never through a symlink) `file` and takes a non-blocking exclusive flock
 * on it. Returns null when another open file (another process, or another open of it here) holds
 * it. The fd is close-on-exec, as every fd Node opens, so children such as qemu never inherit it.
 */
export function tryLockExclusive(file: string, native: NativeBinding = loadNative()): HeldLock | null {
  const { O_RDWR, O_CREAT, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ELOOP' ? 'it is a symbolic link' : errorMessage(err);
    throw new BentoError('io-error', `cannot open the lock file ${file}: ${why}`, { cause: err });
  }
  const { LOCK_EX, LOCK_NB, LOCK_UN } = native.flockConstants;
  let got: boolean;
  try {
    if (!fs.fstatSync(fd).isFile()) throw new Error('it is not a regular file');
    got = native.flock(fd, LOCK_EX | LOCK_NB);
  } catch (err) {
    fs.closeSync(fd);
    throw new BentoError('io-error', `cannot lock ${file}: ${errorMessage(err)}`, { cause: err });
  }
  if (!got) {
    fs.closeSync(fd);
    return null;
  }
  let held = true;
  return {
    fd,
    release: () => {
      if (!held) return;
      held = false;
      try {
        native.flock(fd, LOCK_UN);
      } finally {
        // Closing alone would drop the lock too; unlocking first says so in one place.
        fs.closeSync(fd);
      }
    },
  };
}
