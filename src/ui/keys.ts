/** The key map, as shown by `?` and the hint bar; the handlers live in the hooks that consume them. */
import type { VmAction } from './vm-actions.js';

/** One key and what it does. */
export interface KeyHelp {
  keys: string;
  what: string;
  /** The VM action it stands for, so the hint bar can dim keys that do not fit the selected VM. */
  action?: VmAction | 'pause-toggle';
}

/** A group of keys in the help screen. */
export interface KeySection {
  title: string;
  keys: KeyHelp[];
}

/** The help screen. */
export function helpSections(escapeLabel: string): KeySection[] {
  return [
    {
      title: 'Move',
      keys: [
        { keys: '↑ ↓  k j', what: 'previous / next VM' },
        { keys: 'PgUp PgDn', what: 'a page up / down (also Ctrl-B / Ctrl-F)' },
        { keys: 'g G', what: 'first / last VM (also Home / End)' },
        { keys: '/', what: 'filter by name (!text inverts); Esc clears' },
        { keys: 'N T C M U', what: 'sort by name, state, cpus, memory, uptime (again: reverse)' },
      ],
    },
    {
      title: 'VM',
      keys: [
        { keys: 's', what: 'start', action: 'start' },
        { keys: 'S', what: 'stop: ACPI power button, forced when the countdown ends', action: 'stop' },
        { keys: 'K', what: 'force stop now (asks first)', action: 'kill' },
        { keys: 'p', what: 'pause / resume', action: 'pause-toggle' },
        { keys: 'r', what: 'restart', action: 'restart' },
        { keys: 'z', what: 'suspend to disk (RAM and devices saved; s resumes it)', action: 'suspend' },
        { keys: 'n', what: 'new VM' },
        { keys: 'e', what: 'edit a stopped VM', action: 'edit' },
        { keys: 'D', what: 'delete (asks first)', action: 'delete' },
        { keys: 'v V', what: 'snapshot now / list snapshots (Enter restores, D removes)', action: 'snapshot' },
      ],
    },
    {
      title: 'Console, SSH and log',
      keys: [
        { keys: 'Enter c', what: 'open the console pane and type into it', action: 'console' },
        { keys: `${escapeLabel}`, what: 'leave the console pane (back to the table)' },
        { keys: 'Tab', what: 'focus the console pane (from the table)' },
        { keys: 'f', what: 'console pane full screen / split' },
        { keys: 'x', what: 'close the console pane' },
        { keys: 'a', what: `attach full screen (${escapeLabel} comes back)`, action: 'attach' },
        { keys: 'h', what: 'SSH session full screen (bento ssh; exit comes back)', action: 'ssh' },
        { keys: 'l', what: 'serial log (j/k PgUp/PgDn g/G, Esc back)' },
      ],
    },
    {
      title: 'Other',
      keys: [
        { keys: '?', what: 'this help' },
        { keys: 'R', what: 'reconnect to bentod now (starts it if needed)' },
        { keys: 'q Ctrl-C', what: 'quit (VMs keep running)' },
      ],
    },
  ];
}

/** The hint bar for the table. */
export const TABLE_HINTS: KeyHelp[] = [
  { keys: 's', what: 'start', action: 'start' },
  { keys: 'S', what: 'stop', action: 'stop' },
  { keys: 'K', what: 'kill', action: 'kill' },
  { keys: 'p', what: 'pause', action: 'pause-toggle' },
  { keys: 'r', what: 'restart', action: 'restart' },
  { keys: 'z', what: 'suspend', action: 'suspend' },
  { keys: '⏎', what: 'console', action: 'console' },
  { keys: 'a', what: 'attach', action: 'attach' },
  { keys: 'h', what: 'ssh', action: 'ssh' },
  { keys: 'l', what: 'log' },
  { keys: 'n', what: 'new' },
  { keys: 'e', what: 'edit', action: 'edit' },
  { keys: 'D', what: 'delete', action: 'delete' },
  { keys: 'v V', what: 'snapshot', action: 'snapshot' },
  { keys: '/', what: 'filter' },
  { keys: '?', what: 'help' },
  { keys: 'q', what: 'quit' },
];

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

/** The hint bar while typing a filter. */
export const FILTER_HINTS: KeyHelp[] = [
  { keys: 'Enter', what: 'keep the filter' },
  { keys: 'Esc', what: 'clear it' },
  { keys: '!text', what: 'inverts' },
];
