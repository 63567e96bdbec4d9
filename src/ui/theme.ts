import { createContext } from 'react';
import type { VmState } from '../vm/types.js';

/** Ink colour names used by the TUI (undefined = the terminal's default colour). */
export type Color = string | undefined;

/** Colours and glyphs; with NO_COLOR every colour is undefined and emphasis uses bold/inverse only. */
export interface Theme {
  color: boolean;
  accent: Color;
  muted: Color;
  ok: Color;
  warn: Color;
  error: Color;
  border: Color;
  borderFocus: Color;
  /** Border style of the focused pane (a different style stands in for colour under NO_COLOR). */
  focusStyle: 'round' | 'double' | 'bold';
  state(s: VmState): Color;
}

const STATE_COLORS: Record<VmState, string> = {
  running: 'green',
  starting: 'cyan',
  resuming: 'cyan',
  restoring: 'cyan',
  pausing: 'yellow',
  paused: 'yellow',
  stopping: 'yellow',
  saving: 'blue',
  stopped: 'gray',
  error: 'red',
};

/** Whether NO_COLOR (https://no-color.org) asks for no colour: set and not empty. */
export function noColorRequested(env: Record<string, string | undefined>): boolean {
  return typeof env.NO_COLOR === 'string' && env.NO_COLOR !== '';
}

/** The theme for an environment. */
export function createTheme(env: Record<string, string | undefined> = process.env): Theme {
  if (noColorRequested(env)) {
    const none = undefined;
    return {
      color: false,
      accent: none,
      muted: none,
      ok: none,
      warn: none,
      error: none,
      border: none,
      borderFocus: none,
      focusStyle: 'double',
      state: () => none,
    };
  }
  return {
    color: true,
    accent: 'cyan',
    muted: 'gray',
    ok: 'green',
    warn: 'yellow',
    error: 'red',
    border: 'gray',
    borderFocus: 'cyan',
    focusStyle: 'round',
    state: (s) => STATE_COLORS[s],
  };
}

/** The theme every component reads (App provides it). */
export const ThemeContext = createContext<Theme>(createTheme({}));
