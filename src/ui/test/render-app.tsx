/** Renders the App against a fake bentod for component tests. */
import { EventEmitter } from 'node:events';
import { render } from 'ink';
import type { ReactNode } from 'react';
import { vi } from 'vitest';
import type { Vm } from '../../vm/types.js';
import { App, type AppProps } from '../App.js';
import { FakeClient } from '../fake-client.js';
import type { PaneFactory, PaneFrame, PaneHandle } from '../pane-adapter.js';
import { createTheme } from '../theme.js';
import { createVmStore, type VmStore } from '../vm-store.js';
import { FakeStdin } from './fake-stdin.js';

/** The fake terminal's width. */
export const COLS = 100;

/** A stdout that keeps the frames Ink writes (debug mode writes whole frames). */
class FakeStdout extends EventEmitter {
  readonly frames: string[] = [];
  isTTY = true;
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }
  write = (frame: string): boolean => {
    this.frames.push(frame);
    return true;
  };
}

/** Lets timers, promises and React effects run. */
export const settle = (ms = 30): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A fake pane: records what is typed, lets the test draw frames and end it. */
export interface FakePane extends PaneHandle {
  written: string[];
  sizes: [number, number][];
  disposed: boolean;
  show(lines: string[]): void;
  exit(code: number): void;
}

/** A pane factory that hands out FakePanes. */
export function fakePanes(): { open: PaneFactory; panes: FakePane[]; specs: Parameters<PaneFactory>[0][] } {
  const panes: FakePane[] = [];
  const specs: Parameters<PaneFactory>[0][] = [];
  const open: PaneFactory = async (spec) => {
    specs.push(spec);
    const frameL = new Set<(f: PaneFrame) => void>();
    const exitL = new Set<(e: { exitCode: number; signal: number | null }) => void>();
    let cols = spec.cols;
    let rows = spec.rows;
    const pane: FakePane = {
      written: [],
      sizes: [[cols, rows]],
      disposed: false,
      onFrame: (l) => (frameL.add(l), () => frameL.delete(l)),
      onExit: (l) => (exitL.add(l), () => exitL.delete(l)),
      write: (d) => void pane.written.push(d),
      resize: (c, r) => {
        cols = c;
        rows = r;
        pane.sizes.push([c, r]);
      },
      scroll: () => undefined,
      scrollToBottom: () => undefined,
      dispose: () => {
        pane.disposed = true;
      },
      show(lines) {
        const frame: PaneFrame = {
          cols,
          rows,
          cursor: { x: 0, y: 0, visible: false },
          lines: Array.from({ length: rows }, (_, y) => [
            { text: (lines[y] ?? '').padEnd(cols).slice(0, cols), fg: null, bg: null, bold: false, italic: false, underline: false, inverse: false, dim: false },
          ]),
          scrolledBack: 0,
          scrollbackLines: 0,
          altScreen: false,
        };
        for (const l of frameL) l(frame);
      },
      exit(code) {
        for (const l of exitL) l({ exitCode: code, signal: null });
      },
    };
    panes.push(pane);
    return pane;
  };
  return { open, panes, specs };
}

/** What a test drives. */
export interface Harness {
  client: FakeClient;
  store: VmStore;
  panes: FakePane[];
  /** What each pane was asked to run. */
  specs: Parameters<PaneFactory>[0][];
  frame(): string;
  /** Types keys (raw terminal input) and lets the screen settle. */
  press(...keys: string[]): Promise<void>;
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** a and h: what the terminal was handed to. */
  onHandOver: ReturnType<typeof vi.fn>;
  onQuit: ReturnType<typeof vi.fn>;
  unmount(): void;
}

/** Renders the App with a fake client holding `vms`. */
export async function renderApp(vms: Vm[], opts: { rows?: number; cols?: number; props?: Partial<AppProps>; client?: FakeClient } = {}): Promise<Harness> {
  const client = opts.client ?? new FakeClient(vms);
  const store = createVmStore(client, { minMs: 20, maxMs: 40 });
  store.start();
  const { open, panes, specs } = fakePanes();
  const onHandOver = vi.fn();
  const onQuit = vi.fn();
  const tree: ReactNode = (
    <App
      client={client}
      store={store}
      consoleCommand={(name) => ({ command: 'bento', args: ['console', name] })}
      guestDir="/guest"
      arch="x64"
      openPane={open}
      theme={createTheme({ NO_COLOR: '1' })}
      size={{ cols: opts.cols ?? COLS, rows: opts.rows ?? 30 }}
      onHandOver={onHandOver}
      onQuit={onQuit}
      {...opts.props}
    />
  );
  const rows = opts.rows ?? 30;
  const stdout = new FakeStdout(opts.cols ?? COLS, rows);
  const stdin = new FakeStdin();
  // Rendered as the real TUI renders (run.ts), with whole frames written for the test to read.
  const r = render(tree, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  const frame = (): string => stdout.frames.at(-1) ?? '';
  // Ready once the snapshot is on screen and the first effects (key listeners) have run.
  for (let i = 0; i < 200 && !/● bentod|bentod is not running/.test(frame()); i++) await settle(5);
  await settle(50);
  return {
    client,
    store,
    panes,
    specs,
    frame,
    async press(...keys) {
      for (const k of keys) {
        stdin.write(k);
        await settle(15);
      }
      await settle();
    },
    async waitFor(text, timeoutMs = 2000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const f = frame();
        if (typeof text === 'string' ? f.includes(text) : text.test(f)) return;
        if (Date.now() > end) throw new Error(`timed out waiting for ${String(text)}; screen:\n${f}`);
        await settle(10);
      }
    },
    onHandOver,
    onQuit,
    unmount() {
      r.unmount();
      store.dispose();
    },
  };
}
