import os from 'node:os';
import path from 'node:path';
import type { BentoClient } from '../api/client.js';
import { handOver } from '../console/handover.js';
import { handOverStatus, type HandOverTool } from './hand-over.js';
import { BentoError } from '../vm/errors.js';
import type { Session } from './App.js';
import type { CommandRunner } from './command-line.js';
import type { EscapeKey } from './components/ConsolePane.js';
import { initialView, viewReducer } from './view-state.js';
import { createVmStore, type VmStore } from './vm-store.js';

/** Options the CLI passes to the TUI. */
export interface TuiOptions {
  home: string;
  socket: string;
  ensure: () => Promise<BentoClient>;
  /** The console escape key from the user's preferences (default Ctrl-]). */
  escape?: EscapeKey;
  /** Where the test guest is, for the first-run demo VM. */
  guestDir?: string;
  /** Runs the `:` command line's bento commands. */
  runCommand?: CommandRunner;
  /** Called once, just after the first frame is drawn (the launcher saves its code cache then). */
  onFirstFrame?: () => void;
}

/** How long the first frame waits for bentod's snapshot, so it shows the VMs rather than "connecting". */
const FIRST_FRAME_WAIT_MS = 300;

function firstSnapshot(store: VmStore): Promise<void> {
  return new Promise((resolve) => {
    const ready = (): boolean => store.getState().loaded || store.getState().conn.status === 'lost';
    if (ready()) return resolve();
    const timer = setTimeout(done, FIRST_FRAME_WAIT_MS);
    const off = store.subscribe(() => ready() && done());
    function done(): void {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}

const ALT_ON = '\x1b[?1049h\x1b[H\x1b[2J';
const ALT_OFF = '\x1b[?1049l';
const CURSOR_ON = '\x1b[?25h';

/** The commands that take a VM's terminal: this same bento, `console NAME` or `ssh NAME`. */
function bentoCommand(socket: string, home: string) {
  const self = process.argv[1] ?? 'bento';
  return (tool: HandOverTool, name: string) => ({
    command: process.execPath,
    args: [...process.execArgv, self, tool, name],
    env: { BENTO_HOME: home, BENTO_SOCKET: socket },
  });
}

/**
 * Opens the TUI on the alternate screen and returns when the user quits; VMs keep running. For `a`
 * (attach) and `h` (ssh) Ink is unmounted, the terminal handed to `bento console NAME` or
 * `bento ssh NAME`, and the same view is rendered again when that exits. The terminal is restored
 * on every way out.
 */
export async function runTui(opts: TuiOptions): Promise<void> {
  const { stdin, stdout } = process;
  if (!stdin.isTTY || !stdout.isTTY) {
    throw new BentoError('invalid-input', 'the TUI needs a terminal; in scripts use the commands (bento ls, bento start NAME, …)');
  }
  // Ink, React and the screen (about 100 ms of loading, mostly yoga's WebAssembly) load while bentod
  // is reached and its snapshot is on its way, so the first frame already shows the VMs.
  const ui = Promise.all([import('ink'), import('./App.js')]);
  ui.catch(() => undefined); // awaited below; a failure must not surface as an unhandled rejection first
  const client = await opts.ensure();
  const store = createVmStore(client);
  store.start();
  let loaded: Awaited<typeof ui>;
  try {
    [loaded] = await Promise.all([ui, firstSnapshot(store)]);
  } catch (err) {
    store.dispose();
    throw err;
  }
  const [{ render }, { appElement }] = loaded;
  const session: Session = { view: initialView() };
  const command = bentoCommand(opts.socket, opts.home);
  const consoleCommand = (name: string) => command('console', name);
  const guestDir = opts.guestDir ?? process.env.BENTO_GUEST_DIR ?? path.join(os.homedir(), '.cache', 'bento', 'test-guest');

  let alt = false;
  const enter = (): void => {
    if (!alt) stdout.write(ALT_ON);
    alt = true;
  };
  const leave = (): void => {
    if (alt) stdout.write(ALT_OFF + CURSOR_ON);
    alt = false;
  };
  const onExit = (): void => leave();
  process.on('exit', onExit);

  let unmount: (() => void) | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    unmount?.();
    leave();
    process.exit(128 + (os.constants.signals[sig] ?? 15));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  let onFirstFrame = opts.onFirstFrame;
  try {
    for (;;) {
      let handTo: { tool: HandOverTool; name: string } | null = null;
      enter();
      const ink = render(
        appElement({
          client,
          store,
          session,
          consoleCommand,
          guestDir,
          ...(opts.escape ? { escape: opts.escape } : {}),
          onHandOver: (tool, name) => {
            handTo = { tool, name };
            // Not from inside the key handler that asked: let React finish that update first.
            setImmediate(() => ink.unmount());
          },
          startDaemon: opts.ensure,
          ...(opts.runCommand ? { runCommand: opts.runCommand } : {}),
        }),
        { exitOnCtrlC: false, patchConsole: true, maxFps: 60 },
      );
      unmount = () => ink.unmount();
      if (onFirstFrame) setImmediate(onFirstFrame);
      onFirstFrame = undefined;
      await ink.waitUntilExit();
      unmount = null;
      const to = handTo as { tool: HandOverTool; name: string } | null;
      if (to === null) break;
      leave();
      const { command: cmd, args, env } = command(to.tool, to.name);
      let status: { text: string; kind: 'info' | 'error' };
      try {
        // ssh's own complaints (a changed host key, a refused connection) are kept for the status line.
        const res = await handOver({ command: cmd, args, env: { ...process.env, ...env }, keepStderr: to.tool === 'ssh' });
        status = handOverStatus(to.tool, to.name, res);
      } catch (err) {
        status = { text: (err as Error).message, kind: 'error' };
      }
      session.view = viewReducer(session.view, { type: 'status', ...status });
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', onExit);
    store.dispose();
    leave();
    // Everything is closed above; should a stray handle still hold the event loop, quitting must
    // not hang with the terminal already restored. Unref'd: it never delays a clean exit.
    setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
  }
}
