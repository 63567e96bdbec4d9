/** The key map as shown by `?` and the hint bar: generated from the table's key list (key-table.ts), plus the keys other panes own. */
import type { VmAction } from '../vm/actions.js';
import { TABLE_KEYS } from './key-table.js';

/** One key and what it does. */
export interface KeyHelp {
  keys: string;
  what: string;
  /** The VM action it stands for, so the hint bar can dim keys that do not fit the selected VM. */
  action?: VmAction | 'pause-toggle';
  /** Set for keys another pane handles (the console pane), not the table. */
  pane?: 'console';
}

/** A group of keys in the help screen. */
export interface KeySection {
  title: string;
  keys: KeyHelp[];
}

/** The help screen: every table key by section, and the console pane's own keys. */
export function helpSections(escapeLabel: string): KeySection[] {
  const sections: KeySection[] = [];
  for (const k of TABLE_KEYS) {
    let s = sections.find((x) => x.title === k.section);
    if (!s) sections.push((s = { title: k.section, keys: [] }));
    const what = k.keys.includes('a') ? `attach full screen (${escapeLabel} comes back)` : k.what;
    s.keys.push({ keys: k.label, what, ...(k.action ? { action: k.action } : {}) });
  }
  const consoleKeys = sections.find((x) => x.title === 'Console, SSH and log')!;
  consoleKeys.keys.splice(1, 0, { keys: escapeLabel, what: 'leave the console pane (back to the table)', pane: 'console' });
  return sections;
}

// The hint bar is short: the VM actions come first, in the order people reach for them.
const HINT_ORDER = ['s', 'S', 'K', 'p', 'r', 'z', 'enter', 'a', 'h', 'l', 'n', 'e', 'D', 'c', 'v', 'space', '/', 'H', ':', '?', 'q'];

/** The hint bar for the table: the keys with a hint word. */
export const TABLE_HINTS: KeyHelp[] = TABLE_KEYS.filter((k) => k.hint)
  .sort((a, b) => HINT_ORDER.indexOf(a.keys[0]!) - HINT_ORDER.indexOf(b.keys[0]!))
  .map((k) => ({
    keys: k.keys[0] === 'enter' ? '⏎' : k.label,
    what: k.hint!,
    ...(k.action ? { action: k.action } : {}),
  }));

/** The table's hint bar with this machine as the only host: no host filter to offer. */
export const ONE_HOST_HINTS: KeyHelp[] = TABLE_HINTS.filter((h) => h.keys !== 'H');

/** The hint bar while the console pane has the keys. */
export function consoleHints(escapeLabel: string): KeyHelp[] {
  return [
    { keys: escapeLabel, what: 'back to the table' },
    { keys: 'Shift-PgUp/PgDn', what: 'scroll' },
    { keys: '', what: 'every other key goes to the guest' },
  ];
}

/** The hint bar of the serial log view. */
export const LOG_HINTS: KeyHelp[] = [
  { keys: 'j k ↑ ↓', what: 'scroll' },
  { keys: 'PgUp PgDn', what: 'page' },
  { keys: 'g G', what: 'top / follow' },
  { keys: 'Esc q l', what: 'back' },
];

/** The hint bar while typing a command after `:`. */
export const COMMAND_HINTS: KeyHelp[] = [
  { keys: 'Enter', what: 'run it (any bento command)' },
  { keys: '↑ ↓', what: 'history' },
  { keys: 'Esc', what: 'cancel' },
  { keys: ':q', what: 'quit' },
];

/** The hint bar while typing a filter. */
export const FILTER_HINTS: KeyHelp[] = [
  { keys: 'Enter', what: 'keep the filter' },
  { keys: 'Esc', what: 'clear it' },
  { keys: '!text', what: 'inverts' },
];
