/**
 * The console pane engine (src/console/pane.ts) behind a small interface the TUI owns, loaded
 * lazily: node-pty and @xterm/headless cost start-up time, and the first frame does not need them.
 */
import type { PaneFrame } from '../console/pane.js';
import type { Disposer } from '../vm/types.js';

export type { PaneFrame };

/** How the pane's program ended. */
export interface PaneEnd {
  exitCode: number;
  signal: number | null;
}

/** A program running in a pseudo-terminal pane. */
export interface PaneHandle {
  onFrame(listener: (frame: PaneFrame) => void): Disposer;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Scrolls the view (negative: back into scrollback). */
  scroll(lines: number): void;
  scrollToBottom(): void;
  onExit(listener: (end: PaneEnd) => void): Disposer;
  dispose(): void;
}

/** What to run in a pane, and its size. */
export interface PaneSpec {
  command: string;
  args: string[];
  cols: number;
  rows: number;
  env?: Record<string, string>;
}

/** Opens a pane; injected into the App so tests use a fake. */
export type PaneFactory = (spec: PaneSpec) => Promise<PaneHandle>;

/** The real pane, from src/console/pane.ts. */
export const openPane: PaneFactory = async (spec) => {
  const mod = await import('../console/pane.js');
  const pane = mod.createPane({ command: spec.command, args: spec.args, cols: spec.cols, rows: spec.rows, maxFps: 30, ...(spec.env ? { env: spec.env } : {}) });
  const optional = pane as unknown as Partial<Pick<PaneHandle, 'scroll' | 'scrollToBottom'>>;
  return {
    onFrame: (l) => pane.onFrame(l),
    write: (d) => pane.write(d),
    resize: (c, r) => pane.resize(c, r),
    scroll: (n) => optional.scroll?.call(pane, n),
    scrollToBottom: () => optional.scrollToBottom?.call(pane),
    onExit: (l) => pane.onExit((info) => l({ exitCode: info.exitCode, signal: info.signal ?? null })),
    dispose: () => pane.dispose(),
  };
};
