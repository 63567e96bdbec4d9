import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from '../../vm/errors.js';
import type { PaneFactory, PaneFrame, PaneHandle } from '../pane-adapter.js';

/** Where a console pane is. */
export type ConsolePhase = 'waiting' | 'connecting' | 'live' | 'closed' | 'failed';

/** What the console pane shows and can do. */
export interface ConsolePaneState {
  phase: ConsolePhase;
  frame: PaneFrame | null;
  /** Why it closed or failed. */
  message: string | null;
  write(data: string): void;
  scroll(pages: number): void;
  /** Opens the console again after it closed. */
  reconnect(): void;
}

/** Options of useConsolePane. */
export interface ConsolePaneOptions {
  /** Whether the VM has a console to connect to, when a run begins or on reconnect. */
  isActive: boolean;
  /**
   * Identifies the VM's run (its start time, kept after it stops): a new run gets a new console,
   * while the end of a run leaves the console be, so its client prints the last output and exits.
   */
  runKey: string | null;
  cols: number;
  rows: number;
  openPane: PaneFactory;
  command: (name: string) => { command: string; args: string[]; env?: Record<string, string> };
}

/**
 * Runs the console client for `name` in a pseudo-terminal pane sized to the pane's cells. The pane
 * lives while the hook is active and the run is the same; resizes go to the pty (the guest's
 * console client gets SIGWINCH); the last screen stays up after the console closes.
 */
export function useConsolePane(name: string, opts: ConsolePaneOptions): ConsolePaneState {
  const { isActive, runKey, cols, rows, openPane, command } = opts;
  const [phase, setPhase] = useState<ConsolePhase>('waiting');
  const [frame, setFrame] = useState<PaneFrame | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const handle = useRef<PaneHandle | null>(null);
  const size = useRef({ cols, rows });
  size.current = { cols, rows };

  const active = useRef(isActive);
  active.current = isActive;
  useEffect(() => {
    setFrame(null);
    setMessage(null);
    if (!active.current) {
      setPhase('waiting');
      return;
    }
    setPhase('connecting');
    let disposed = false;
    let pane: PaneHandle | null = null;
    const offs: (() => void)[] = [];
    const spec = command(name);
    openPane({ ...spec, cols: Math.max(size.current.cols, 2), rows: Math.max(size.current.rows, 1) }).then(
      (p) => {
        if (disposed) return p.dispose();
        pane = p;
        handle.current = p;
        setPhase('live');
        offs.push(p.onFrame((f) => setFrame(f)));
        offs.push(
          p.onExit((end) => {
            if (disposed) return;
            handle.current = null;
            setPhase('closed');
            setMessage(end.exitCode === 0 ? 'console closed' : `console client exited with code ${end.exitCode}`);
          }),
        );
      },
      (err: unknown) => {
        if (disposed) return;
        setPhase('failed');
        setMessage(errorMessage(err));
      },
    );
    return () => {
      disposed = true;
      for (const off of offs) off();
      if (handle.current === pane) handle.current = null;
      pane?.dispose();
    };
  }, [name, runKey, attempt, openPane, command]);

  useEffect(() => {
    handle.current?.resize(Math.max(cols, 2), Math.max(rows, 1));
  }, [cols, rows, phase]);

  const write = useCallback((data: string) => {
    try {
      handle.current?.write(data);
    } catch {
      // The program just exited; onExit reports it.
    }
  }, []);
  const scroll = useCallback(
    (pages: number) => {
      const p = handle.current;
      if (!p) return;
      p.scroll(pages * Math.max(rows - 1, 1));
    },
    [rows],
  );
  const reconnect = useCallback(() => setAttempt((n) => n + 1), []);
  return { phase, frame, message, write, scroll, reconnect };
}
