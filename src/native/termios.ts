// Full raw mode for a console, the way virsh console and screen do it (cfmakeraw), with an exact
// restore. Node's setRawMode leaves OPOST/ONLCR on, so a guest's bare LF reaches the host terminal as
// CR LF; this module turns output processing off too. The addon does the work; without it, /bin/stty
// on the same fd does (`stty -g` saves, `stty raw …` applies, `stty <saved>` restores).
import { spawnSync } from 'node:child_process';
import { BentoError, errorMessage } from '../vm/errors.js';
import { loadNative, type NativeBinding, type TermiosSnapshot } from './native.js';

/** How a terminal's modes are read and written: the native addon, or /bin/stty as a fallback. */
export type TermiosMethod = 'native' | 'stty';

/** The part of a Node tty.ReadStream whose bookkeeping (libuv's mode, `isRaw`) must stay right. */
export interface RawModeStream {
  setRawMode(mode: boolean): unknown;
}

/** A terminal's saved modes and the way back to them. */
export interface SavedTerminal {
  readonly method: TermiosMethod;
  readonly fd: number;
  /** Sets the saved modes again (after output drains); false when the terminal is gone (EIO, hang-up). */
  restore(): boolean;
}

/** A terminal in full raw mode; restore() puts back exactly the modes it had before (once). */
export interface RawHandle extends SavedTerminal {
  /** True until restore() ran. */
  readonly active: boolean;
}

/** What enterRaw and saveTerminal can be told. */
export interface TermiosOptions {
  /** The addon to use; null forces the stty fallback; by default loadNative(), falling back when it fails. */
  native?: NativeBinding | null;
  /** The stty binary of the fallback (default /bin/stty, which Linux and macOS both have). */
  stty?: string;
}

/** cfmakeraw's mode for stty: `raw` plus what GNU and BSD `raw` leave out of cfmakeraw's set. */
export const STTY_RAW_ARGS = ['raw', '-echo', '-echonl', '-iexten', 'cs8', '-parenb', 'min', '1', 'time', '0'];

const DEFAULT_STTY = '/bin/stty';

function checkFd(fd: number): void {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new BentoError('invalid-input', `file descriptor must be an integer >= 0, got ${typeof fd === 'number' ? fd : typeof fd}`);
  }
}

function nativeOrNull(opts: TermiosOptions): NativeBinding | null {
  if (opts.native !== undefined) return opts.native;
  try {
    return loadNative();
  } catch {
    return null; // a missing or stale addon: the stty fallback does the same job, a little slower
  }
}

function nativeError(fd: number, what: string, err: unknown): BentoError {
  const code = (err as { code?: unknown }).code;
  return new BentoError('io-error', `cannot ${what} of fd ${fd}${typeof code === 'string' ? ` [${code}]` : ''}: ${errorMessage(err)}`, {
    cause: err,
  });
}

/** Runs stty on `fd` (its stdin); returns stdout, or throws naming the command and stty's complaint. */
function stty(bin: string, fd: number, args: string[]): string {
  const r = spawnSync(bin, args, { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8', timeout: 5000 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr.trim() || `exit ${r.status ?? r.signal}`);
    throw new BentoError('io-error', `\`${bin} ${args.join(' ')}\` on fd ${fd} failed: ${why}`, r.error ? { cause: r.error } : {});
  }
  return r.stdout.trim();
}

/** Reads `fd`'s modes now; restore() sets exactly these again. Throws io-error when fd is no terminal. */
export function saveTerminal(fd: number, opts: TermiosOptions = {}): SavedTerminal {
  checkFd(fd);
  const binding = nativeOrNull(opts);
  if (binding) {
    let snap: TermiosSnapshot;
    try {
      snap = binding.tcgetattr(fd);
    } catch (err) {
      throw nativeError(fd, 'read the terminal modes', err);
    }
    const drain = binding.termiosConstants.TCSADRAIN;
    return {
      method: 'native',
      fd,
      restore: () => {
        try {
          binding.tcsetattr(fd, snap, drain);
          return true;
        } catch {
          return false; // the terminal hung up (SIGHUP, EIO): there is nothing left to restore
        }
      },
    };
  }
  const bin = opts.stty ?? DEFAULT_STTY;
  const saved = stty(bin, fd, ['-g']);
  return {
    method: 'stty',
    fd,
    restore: () => {
      try {
        stty(bin, fd, [saved]);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/**
 * Puts the terminal on `fd` in full raw mode (cfmakeraw: no echo, no signals, no input or output
 * processing, 8 bits, one byte at a time) and returns the handle that restores it exactly.
 * `stream`, the Node tty stream on the same terminal, is switched first so Node and libuv agree
 * that it is raw; on restore it is switched back before the saved modes are set, so libuv's own
 * restore (to the modes it saw) cannot leave anything but ours. Never half raw: if raw mode cannot
 * be set completely, the terminal is put back and an io-error thrown.
 */
export function enterRaw(fd: number, stream?: RawModeStream, opts: TermiosOptions = {}): RawHandle {
  const saved = saveTerminal(fd, opts);
  const binding = saved.method === 'native' ? nativeOrNull(opts) : null;
  stream?.setRawMode(true);
  try {
    if (binding) {
      try {
        binding.makeRaw(fd);
      } catch (err) {
        throw nativeError(fd, 'set raw mode', err);
      }
    } else {
      stty(opts.stty ?? DEFAULT_STTY, fd, STTY_RAW_ARGS);
    }
  } catch (err) {
    stream?.setRawMode(false);
    saved.restore();
    throw err;
  }
  let active = true;
  return {
    method: saved.method,
    fd,
    get active() {
      return active;
    },
    restore: () => {
      if (!active) return true;
      active = false;
      try {
        stream?.setRawMode(false);
      } catch {
        // a destroyed stream: the saved modes below are what matters
      }
      return saved.restore();
    },
  };
}
