import { useMemo, type ReactElement, type ReactNode } from 'react';
import type { HandOverTool } from './hand-over.js';
import type { CommandRunner } from './command-line.js';
import type { Theme } from './theme.js';
import { ThemeContext, createTheme } from './theme.js';
import type { UiClient } from './ui-client.js';
import type { ViewState } from './view-state.js';
import type { VmStore } from './vm-store.js';
import type { PaneFactory } from './pane-adapter.js';
import type { Size } from './hooks/use-terminal-size.js';
import type { EscapeKey } from './components/ConsolePane.js';
import { useKeyRouter } from './hooks/use-key-router.js';
import { KeyRouterContext } from './key-router-context.js';
import { Screen } from './components/Screen.js';

/** Where the view is kept while Ink steps aside (attach, ssh), so the TUI comes back to the same screen. */
export interface Session {
  view: ViewState;
}

/** Props of App. */
export interface AppProps {
  client: UiClient;
  store: VmStore;
  session?: Session;
  /** What runs in the console pane for a VM (`bento console NAME`). */
  consoleCommand: (name: string) => { command: string; args: string[]; env?: Record<string, string> };
  guestDir: string;
  escape?: EscapeKey;
  openPane?: PaneFactory;
  theme?: Theme;
  /** Pins the size (tests); otherwise the terminal's. */
  size?: Size;
  /** `a` and `h`: hand the whole terminal to `bento console NAME` or `bento ssh NAME`; absent in tests. */
  onHandOver?(tool: HandOverTool, name: string): void;
  onQuit?(): void;
  /** This host's architecture, Node's name for it (tests pin it); the new-VM form offers its images. */
  arch?: string;
  /** `:` command mode: runs `bento ARGS` (the CLI spawns itself); absent: commands are refused. */
  runCommand?: CommandRunner;
  /** `R` while bentod is away: start it (the CLI's ensure). */
  startDaemon?(): Promise<unknown>;
}

/** The bento TUI: owns the keyboard and the theme, and draws the screen. */
export function App(props: AppProps): ReactNode {
  const theme = useMemo(() => props.theme ?? createTheme(), [props.theme]);
  const router = useKeyRouter({ isActive: true });
  return (
    <KeyRouterContext.Provider value={router}>
      <ThemeContext.Provider value={theme}>
        <Screen {...props} />
      </ThemeContext.Provider>
    </KeyRouterContext.Provider>
  );
}

/** The App as an element, for callers that do not use JSX (run.ts). */
export function appElement(props: AppProps): ReactElement {
  return <App {...props} />;
}
