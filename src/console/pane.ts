/**
 * The pane engine: a program in a pseudo-terminal, its output parsed by an @xterm/headless terminal
 * of the same size, and frames of styled runs emitted at a capped rate for an Ink pane to render.
 * CPU follows frames, not bytes: output only marks the screen dirty; a frame is built at most
 * maxFps times a second, only while someone listens, and only emitted when it differs.
 */
import fs from 'node:fs';
import xh from '@xterm/headless';
import type { Terminal as HeadlessTerminal } from '@xterm/headless';
import pty from 'node-pty';
import type { IPty } from 'node-pty';
import { BentoError, errorMessage } from '../vm/errors.js';
import type { Disposer } from '../vm/types.js';
import { createFeed, type FeedStats } from './pane-feed.js';
import { buildFrame, framesEqual, type PaneFrame } from './pane-frame.js';

export type { PaneColor, PaneFrame, PaneLine, PaneRun } from './pane-frame.js';

const { Terminal } = xh;

/** How to start a pane. */
export interface PaneOptions {
  command: string;
  args: string[];
  cols: number;
  rows: number;
  /** Extra variables over the daemon's environment (TERM defaults to xterm-256color). */
  env?: Record<string, string>;
  cwd?: string;
  /** Lines kept above the screen (default 1000). */
  scrollback?: number;
  /** Most frames per second (default 30). */
  maxFps?: number;
}

/** How the pane's program ended: its exit code, and the signal that killed it if any. */
export interface PaneExit {
  exitCode: number;
  signal: number | null;
}

/** Counters for tests and benchmarks: bytes read and parsed, pty pauses, frames emitted. */
export interface PaneStats extends FeedStats {
  frames: number;
}

/** A running pane. */
export interface Pane {
  readonly pid: number;
  /** Called with each new frame, at most maxFps times a second. */
  onFrame(listener: (frame: PaneFrame) => void): Disposer;
  /** The frame for what has been parsed so far, built now. */
  snapshot(): PaneFrame;
  /** Sends keystrokes to the program; throws a not-running BentoError once it has exited. */
  write(data: string | Buffer): void;
  /** Resizes the pty (the program gets SIGWINCH) and the terminal together. */
  resize(cols: number, rows: number): void;
  /** Scrolls the view by lines (negative: back into scrollback); output keeps flowing below. */
  scroll(lines: number): void;
  /** Returns the view to the live screen. */
  scrollToBottom(): void;
  /** Called once when the program ends, after its last output is on screen (about 200 ms after). */
  onExit(listener: (info: PaneExit) => void): Disposer;
  /** The exit, once it happened. */
  exitInfo(): PaneExit | null;
  stats(): PaneStats;
  /** Kills the program and frees the terminal; safe to call twice. */
  dispose(): void;
}

// Variables that describe the parent's terminal, not the pane's; stale sizes break layouts.
const INHERITED_NOT = ['TMUX', 'TMUX_PANE', 'STY', 'WINDOW', 'WINDOWID', 'TERMCAP', 'COLUMNS', 'LINES'];

function positiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new BentoError('invalid-input', `pane ${name} must be a positive integer, got ${value}`);
}

function paneEnv(extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !INHERITED_NOT.includes(k)) env[k] = v;
  env.TERM = 'xterm-256color';
  env.COLORTERM = 'truecolor';
  return { ...env, ...extra };
}

/**
 * Opens our own descriptor on the pty's slave side. libuv ends a pty stream at the first hang-up
 * after a short read although the kernel may still hold output, so a program that exits while we
 * are behind would lose the tail of its output. With the slave held open the master never hangs
 * up; node-pty closes it instead 200 ms after reaping the child, by which time the tail is read.
 */
function holdSlave(p: IPty): number | null {
  const name = (p as unknown as { ptsName?: unknown }).ptsName;
  if (typeof name !== 'string' || process.platform === 'win32') return null;
  try {
    return fs.openSync(name, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  } catch {
    return null; // the child already exited and took the slave with it: nothing left to lose
  }
}

/** Tracks DECTCEM (CSI ? 25 h/l), which xterm's public API does not expose, through parser hooks. */
function trackCursor(term: HeadlessTerminal, set: (shown: boolean) => void): void {
  const has25 = (params: (number | number[])[]): boolean => params.some((p) => p === 25);
  // Returning false lets xterm's own handler run too.
  term.parser.registerCsiHandler({ prefix: '?', final: 'h' }, (p) => (has25(p) && set(true), false));
  term.parser.registerCsiHandler({ prefix: '?', final: 'l' }, (p) => (has25(p) && set(false), false));
  term.parser.registerEscHandler({ final: 'c' }, () => (set(true), false));
  term.parser.registerCsiHandler({ intermediates: '!', final: 'p' }, () => (set(true), false));
}

/** Starts `command` in a pseudo-terminal pane. */
export function createPane(opts: PaneOptions): Pane {
  positiveInt('cols', opts.cols);
  positiveInt('rows', opts.rows);
  const maxFps = opts.maxFps ?? 30;
  if (!(maxFps > 0)) throw new BentoError('invalid-input', `pane maxFps must be positive, got ${maxFps}`);
  const interval = 1000 / maxFps;
  const scrollback = opts.scrollback ?? 1000;
  if (!Number.isInteger(scrollback) || scrollback < 0) {
    throw new BentoError('invalid-input', `pane scrollback must be a whole number of lines, got ${scrollback}`);
  }

  const term = new Terminal({ cols: opts.cols, rows: opts.rows, scrollback, allowProposedApi: true });
  let cursorShown = true;
  trackCursor(term, (shown) => {
    cursorShown = shown;
  });

  let p: IPty;
  try {
    p = pty.spawn(opts.command, opts.args, {
      name: 'xterm-256color',
      cols: opts.cols,
      rows: opts.rows,
      cwd: opts.cwd ?? process.cwd(),
      env: paneEnv(opts.env),
      encoding: null, // bytes in: the terminal decodes UTF-8 itself, across chunk boundaries
    });
  } catch (err) {
    term.dispose();
    throw new BentoError('start-failed', `failed to start ${opts.command} in a pane: ${errorMessage(err)}`, { cause: err });
  }

  let slave = holdSlave(p);
  const releaseSlave = (): void => {
    if (slave !== null) fs.closeSync(slave);
    slave = null;
  };

  const frameListeners = new Set<(frame: PaneFrame) => void>();
  const exitListeners = new Set<(info: PaneExit) => void>();
  const stats: PaneStats = { bytesIn: 0, bytesParsed: 0, maxQueued: 0, chunks: 0, writes: 0, frames: 0, pauses: 0 };
  let dirty = true;
  let timer: NodeJS.Timeout | null = null;
  let lastBuild = -Infinity;
  let last: PaneFrame | null = null;
  let exit: PaneExit | null = null;
  let ptyClosed = false; // node-pty has closed the pty; exit is reported once parsing catches up
  let disposed = false;

  function emitFrame(): void {
    timer = null;
    if (disposed || !dirty || frameListeners.size === 0) return;
    dirty = false;
    const frame = buildFrame(term, cursorShown);
    // The interval counts from when this frame is delivered, not from when its build began: a build
    // slowed by load would otherwise be followed by a frame less than one interval later.
    lastBuild = performance.now();
    if (last && framesEqual(last, frame)) return;
    last = frame;
    stats.frames++;
    for (const l of [...frameListeners]) l(frame);
  }

  // Output only marks the screen dirty; the frame is built on a timer, at most once per interval.
  function markDirty(): void {
    dirty = true;
    if (timer || disposed || frameListeners.size === 0) return;
    timer = setTimeout(emitFrame, Math.max(0, lastBuild + interval - performance.now()));
  }

  const feed = createFeed(term, p, stats);
  const subscriptions = [
    term.onWriteParsed(markDirty),
    // Answers to DA / DSR queries go back to the program, as from a real terminal: console
    // clients and full-screen programs wait for them, and they never reach the user's terminal.
    term.onData((d) => {
      if (!ptyClosed && !disposed) p.write(d);
    }),
    term.onBinary((d) => {
      if (!ptyClosed && !disposed) p.write(Buffer.from(d, 'binary'));
    }),
    p.onData((d) => feed.push(d as unknown as Buffer)), // encoding: null delivers Buffers
    p.onExit(({ exitCode, signal }) => {
      ptyClosed = true;
      releaseSlave();
      if (disposed) return;
      const info: PaneExit = { exitCode, signal: signal ? signal : null };
      // node-pty reports exit after the last read; wait until the terminal has parsed it, show the
      // final screen at once, then tell listeners.
      feed.whenDrained(() => {
        if (disposed) return;
        exit = info;
        if (timer) clearTimeout(timer);
        emitFrame();
        for (const l of [...exitListeners]) l(info);
      });
    }),
  ];

  function ensureRunning(what: string): void {
    if (disposed) throw new BentoError('not-running', `cannot ${what}: the pane was disposed`);
    if (exit) throw new BentoError('not-running', `cannot ${what}: ${opts.command} exited with code ${exit.exitCode}`);
  }

  return {
    pid: p.pid,
    onFrame(listener) {
      frameListeners.add(listener);
      last = null; // a new listener gets a full frame even if nothing changed since the last one
      markDirty();
      return () => {
        frameListeners.delete(listener);
      };
    },
    snapshot: () => buildFrame(term, cursorShown),
    write(data) {
      ensureRunning('write to the pane');
      // Typing returns the view to the live screen, as in a real terminal.
      if (term.buffer.active.viewportY !== term.buffer.active.baseY) {
        term.scrollToBottom();
        markDirty();
      }
      p.write(data);
    },
    resize(cols, rows) {
      positiveInt('cols', cols);
      positiveInt('rows', rows);
      if (disposed) throw new BentoError('not-running', 'cannot resize: the pane was disposed');
      if (cols === term.cols && rows === term.rows) return;
      term.resize(cols, rows);
      if (!ptyClosed) p.resize(cols, rows);
      markDirty();
    },
    scroll(lines) {
      if (!Number.isInteger(lines)) throw new BentoError('invalid-input', `scroll takes whole lines, got ${lines}`);
      if (disposed || lines === 0) return;
      term.scrollLines(lines);
      markDirty();
    },
    scrollToBottom() {
      if (disposed) return;
      term.scrollToBottom();
      markDirty();
    },
    onExit(listener) {
      exitListeners.add(listener);
      const done = exit;
      if (done) queueMicrotask(() => exitListeners.has(listener) && listener(done));
      return () => {
        exitListeners.delete(listener);
      };
    },
    exitInfo: () => exit,
    stats: () => ({ ...stats }),
    dispose() {
      if (disposed) return;
      disposed = true;
      if (timer) clearTimeout(timer);
      frameListeners.clear();
      exitListeners.clear();
      for (const s of subscriptions) s.dispose();
      // Resumes a paused pty first: otherwise it never sees EOF and its descriptor stays open.
      feed.dispose();
      releaseSlave();
      if (!ptyClosed) {
        try {
          p.kill();
        } catch {
          // already gone: exit raced with dispose
        }
      }
      term.dispose();
    },
  };
}
