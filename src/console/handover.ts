/**
 * Hands the terminal to a child process (the full-screen console) and takes it back: this process
 * stops reading the terminal while the child runs, so every key reaches the child, and ignores the
 * keyboard signals the child's terminal modes may still let through. The terminal's modes are saved
 * before and set again after the child, so a child killed in raw mode cannot leave it raw.
 */
import { spawn } from 'node:child_process';
import { saveTerminal, type SavedTerminal } from '../native/termios.js';
import { BentoError } from '../vm/errors.js';

/** How the child ended. */
export interface HandoverResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** With keepStderr: the last line the child wrote to stderr (its error, when it failed), else ''. */
  lastError?: string;
}

/** What to run. */
export interface HandoverOptions {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadStream;
  /** How the terminal's modes are saved and restored (tests); by default saveTerminal on stdin's fd. */
  saveTerminal?: (fd: number) => SavedTerminal;
  /**
   * Passes the child's stderr on to ours through a pipe and keeps its last line, so the caller can
   * say why a child failed once the screen it printed on is gone again (the TUI's alternate screen).
   */
  keepStderr?: boolean;
}

/** Stderr bytes kept for the last line, and how long the pipe may stay open after the child exits. */
const STDERR_KEEP = 4096;
const STDERR_DRAIN_MS = 200;

/** The last non-empty line of a child's stderr, without the `bento: ` prefix of bento's own errors. */
export function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? '').replace(/^bento: /, '');
}

interface ReadHandle {
  reading?: boolean;
  readStop?(): number;
  readStart?(): number;
}

/**
 * Makes this process stop reading its terminal; returns the function that resumes it. Removing the
 * 'readable' listener is not enough: libuv keeps reading into the stream's buffer, and those keys
 * would never reach the child. The handle is private API, guarded so a future Node only loses the
 * guarantee, not the feature.
 */
export function releaseStdin(stdin: NodeJS.ReadStream = process.stdin): () => void {
  if (stdin.isTTY) stdin.setRawMode(false);
  stdin.pause();
  const handle = (stdin as unknown as { _handle?: ReadHandle })._handle;
  const stopped = !!handle?.reading && typeof handle.readStop === 'function';
  if (stopped) {
    handle.reading = false;
    handle.readStop!();
  }
  return () => {
    // The stream still counts its last read as pending; restarting the handle completes it.
    if (stopped && handle.readStart) {
      handle.reading = true;
      handle.readStart();
    }
  };
}

const KEYBOARD_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT', 'SIGTSTP'];
const FORWARDED: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];

/** Runs `command` on this terminal (stdio inherited) and resolves when it exits. */
export function handOver(opts: HandoverOptions): Promise<HandoverResult> {
  const stdin = opts.stdin ?? process.stdin;
  const resume = releaseStdin(stdin);
  const saved = saveModes(stdin, opts.saveTerminal ?? ((fd) => saveTerminal(fd)));
  const ignore = (): void => undefined;
  for (const s of KEYBOARD_SIGNALS) process.on(s, ignore);
  return new Promise<HandoverResult>((resolve, reject) => {
    let child: ReturnType<typeof spawn>;
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    const done = (): void => {
      for (const s of KEYBOARD_SIGNALS) process.off(s, ignore);
      for (const s of FORWARDED) process.off(s, forward);
      saved?.restore();
      resume();
    };
    let tail = '';
    try {
      child = spawn(opts.command, opts.args, { stdio: ['inherit', 'inherit', opts.keepStderr ? 'pipe' : 'inherit'], env: opts.env ?? process.env });
    } catch (err) {
      done();
      reject(new BentoError('start-failed', `cannot run ${opts.command}: ${(err as Error).message}`, { cause: err }));
      return;
    }
    for (const s of FORWARDED) process.on(s, forward);
    child.once('error', (err) => {
      done();
      reject(new BentoError('start-failed', `cannot run ${opts.command}: ${err.message}`, { cause: err }));
    });
    const stderr = child.stderr;
    stderr?.on('data', (d: Buffer) => {
      process.stderr.write(d);
      tail = (tail + d.toString('utf8')).slice(-STDERR_KEEP);
    });
    child.once('exit', (code, signal) => {
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        done();
        resolve({ exitCode: code, signal, ...(opts.keepStderr ? { lastError: lastLine(tail) } : {}) });
      };
      // What the child wrote last may still be in the pipe; a grandchild that keeps it open
      // (an ssh ControlMaster) must not hold the terminal hostage, hence the bound.
      if (!stderr || stderr.readableEnded) return finish();
      const timer = setTimeout(() => {
        stderr.destroy();
        finish();
      }, STDERR_DRAIN_MS);
      stderr.once('end', () => {
        clearTimeout(timer);
        finish();
      });
    });
  });
}

/** The terminal's modes as released (cooked), or null when stdin is no terminal or they cannot be read. */
function saveModes(stdin: NodeJS.ReadStream, save: (fd: number) => SavedTerminal): SavedTerminal | null {
  const fd = (stdin as { fd?: unknown }).fd;
  if (!stdin.isTTY || typeof fd !== 'number') return null;
  try {
    return save(fd);
  } catch {
    // Only a safety net: the child sets and restores its own modes.
    return null;
  }
}
