import xh from '@xterm/headless';
import pty from 'node-pty';
import { BENTO, waitFor } from './bento.js';

const { Terminal } = xh;

/** A program in a real pseudo-terminal, its screen read through a headless xterm. */
export interface PtyRun {
  write(data: string): void;
  /** The normal screen with its scrollback, then the alternate screen when active, as text. */
  screen(): string;
  /** Every byte the program wrote to its terminal, as latin1 text (for byte-level assertions). */
  raw(): string;
  waitForScreen(text: string | RegExp, timeoutMs?: number): Promise<void>;
  waitForRaw(text: string, timeoutMs?: number): Promise<void>;
  resize(cols: number, rows: number): void;
  exited: Promise<{ exitCode: number; signal?: number }>;
  kill(): void;
  /** The pid of the program started in the pty. */
  pid: number;
}

/** Runs `command args` in node-pty at cols x rows with the given environment. */
export function runInPty(command: string, args: string[], opts: { env?: Record<string, string>; cols?: number; rows?: number; cwd?: string } = {}): PtyRun {
  const cols = opts.cols ?? 100;
  const rows = opts.rows ?? 30;
  const term = new Terminal({ cols, rows, allowProposedApi: true, scrollback: 2000 });
  const p = pty.spawn(command, args, {
    name: 'xterm-256color',
    cols,
    rows,
    cwd: opts.cwd ?? process.cwd(),
    env: { ...(process.env as Record<string, string>), TERM: 'xterm-256color', ...opts.env },
    encoding: null,
  });
  const chunks: Buffer[] = [];
  p.onData((d) => {
    const b = Buffer.isBuffer(d) ? d : Buffer.from(d as unknown as string);
    chunks.push(b);
    term.write(b);
  });
  const exited = new Promise<{ exitCode: number; signal?: number }>((resolve) => p.onExit((e) => resolve(e)));
  const screen = (): string => {
    const lines: string[] = [];
    // A guest program may leave the alternate screen on; what was printed before is still on the normal one.
    const buffers = term.buffer.active === term.buffer.normal ? [term.buffer.normal] : [term.buffer.normal, term.buffer.active];
    for (const buf of buffers) for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  };
  const raw = (): string => Buffer.concat(chunks).toString('latin1');
  return {
    write: (d) => p.write(d),
    screen,
    raw,
    waitForScreen: async (text, timeoutMs = 30_000) => {
      await waitFor(`${String(text)} on the screen`, () => new Promise<boolean>((r) => term.write('', () => r(typeof text === 'string' ? screen().includes(text) : text.test(screen())))), timeoutMs, 50).catch((err: Error) => {
        throw new Error(`${err.message}\n--- screen ---\n${screen()}`);
      });
    },
    waitForRaw: async (text, timeoutMs = 30_000) => {
      await waitFor(`${JSON.stringify(text)} in the pty output`, () => raw().includes(text), timeoutMs, 50);
    },
    resize: (c, r) => {
      p.resize(c, r);
      term.resize(c, r);
    },
    exited,
    pid: p.pid,
    kill: () => {
      try {
        p.kill('SIGKILL');
      } catch {
        // gone
      }
    },
  };
}

/** The real `bento` TUI in a 120x34 pseudo-terminal against the home's bentod. */
export function openTui(home: string): PtyRun {
  return runInPty('node', [BENTO], { env: { BENTO_HOME: home }, cols: 120, rows: 34 });
}
