/**
 * The table view's keys, declared once: each entry's keys, its help line and section, its hint, the
 * action it stands for (to dim it when it does not fit the selected VM) and what it runs. The
 * dispatcher, the hint bar and the help overlay are all generated from this list.
 */
import type { Key } from 'ink';
import type { VmAction } from '../vm/actions.js';
import type { SortKey } from './vm-view.js';

/** The VM actions bound to table keys (`pause-toggle` is p: pause or resume as fits). */
export type TableAction = 'start' | 'stop' | 'kill' | 'pause-toggle' | 'restart' | 'suspend' | 'edit' | 'delete' | 'attach' | 'ssh' | 'snapshot' | 'snapshots' | 'clone' | 'rename';

/** What the table's keys do; the screen builds them (table-commands.ts) over the view and the API. */
export interface TableCommands {
  move(delta: number): void;
  /** To the first (-Infinity) or last (+Infinity) row. */
  jump(to: number): void;
  page(direction: -1 | 1): void;
  sort(key: SortKey): void;
  startFilter(): void;
  /** The host filter: every host, then each host in turn (local first), then every host again. */
  cycleHost(): void;
  /** Esc: clears the marks, else the filter. */
  escape(): void;
  /** A VM action on the marked VMs, or on the selected one when none is marked. */
  act(action: TableAction): void;
  toggleMark(): void;
  create(): void;
  openConsole(): void;
  focusConsole(): void;
  toggleFull(): void;
  closeConsole(): void;
  openLog(): void;
  help(): void;
  command(): void;
  reconnect(): void;
  quit(): void;
}

/** One key binding of the table. */
export interface TableKey {
  /** Key names as keyName() spells them. */
  keys: readonly string[];
  /** How the help shows the keys. */
  label: string;
  /** The help line. */
  what: string;
  section: 'Move' | 'VM' | 'Console, SSH and log' | 'Other';
  /** The hint bar's word, when the key is in the hint bar. */
  hint?: string;
  /** The action, so the hint bar can dim the key when it does not fit the selected VM. */
  action?: VmAction | 'pause-toggle';
  /** Whether it applies to every marked VM. */
  marks?: boolean;
  /** True when it may move the focus (a dialog, the filter, the console): keys read after it go there. */
  moves?: boolean;
  /** What it does; `key` is which of its keys was pressed. */
  run(c: TableCommands, key: string): void;
}

const act = (a: TableAction) => (c: TableCommands) => c.act(a);
const SORT_KEYS: Record<string, SortKey> = { N: 'name', T: 'state', C: 'cpus', M: 'memory', U: 'uptime' };

/** Every key of the table view, in help order. */
export const TABLE_KEYS: readonly TableKey[] = [
  { keys: ['up', 'k', 'down', 'j'], label: '↑ ↓  k j', what: 'previous / next VM', section: 'Move', run: (c, k) => c.move(k === 'up' || k === 'k' ? -1 : 1) },
  { keys: ['pageup', 'pagedown', 'ctrl-b', 'ctrl-f', 'ctrl-u', 'ctrl-d'], label: 'PgUp PgDn', what: 'a page up / down (also Ctrl-B / Ctrl-F, Ctrl-U / Ctrl-D)', section: 'Move', run: (c, k) => c.page(['pageup', 'ctrl-b', 'ctrl-u'].includes(k) ? -1 : 1) },
  { keys: ['g', 'G', 'home', 'end'], label: 'g G', what: 'first / last VM (also Home / End)', section: 'Move', run: (c, k) => c.jump(k === 'g' || k === 'home' ? -Infinity : Infinity) },
  { keys: ['/'], label: '/', what: 'filter by name (!text inverts)', section: 'Move', hint: 'filter', moves: true, run: (c) => c.startFilter() },
  { keys: ['H'], label: 'H', what: 'show one host: all → local → each libvirt host → all', section: 'Move', hint: 'host', run: (c) => c.cycleHost() },
  { keys: ['escape'], label: 'Esc', what: 'clear the marks, else the filter, else the host filter', section: 'Move', run: (c) => c.escape() },
  { keys: ['N', 'T', 'C', 'M', 'U'], label: 'N T C M U', what: 'sort by name, state, cpus, memory, uptime (again: reverse)', section: 'Move', run: (c, k) => c.sort(SORT_KEYS[k]!) },
  { keys: ['space'], label: 'Space', what: 'mark / unmark the VM (then s S K p r z D act on every marked VM)', section: 'Move', hint: 'mark', run: (c) => c.toggleMark() },
  { keys: ['s'], label: 's', what: 'start (a saved VM resumes from its saved state)', section: 'VM', hint: 'start', action: 'start', marks: true, moves: true, run: act('start') },
  { keys: ['S'], label: 'S', what: 'stop: ACPI power button, forced when the countdown ends', section: 'VM', hint: 'stop', action: 'stop', marks: true, moves: true, run: act('stop') },
  { keys: ['K'], label: 'K', what: 'force stop now (asks first)', section: 'VM', hint: 'kill', action: 'kill', marks: true, moves: true, run: act('kill') },
  { keys: ['p'], label: 'p', what: 'pause / resume', section: 'VM', hint: 'pause', action: 'pause-toggle', marks: true, moves: true, run: act('pause-toggle') },
  { keys: ['r'], label: 'r', what: 'restart (a stopped VM is started)', section: 'VM', hint: 'restart', action: 'restart', marks: true, moves: true, run: act('restart') },
  { keys: ['z'], label: 'z', what: 'suspend to disk (RAM and devices saved; s resumes it)', section: 'VM', hint: 'suspend', action: 'suspend', marks: true, moves: true, run: act('suspend') },
  { keys: ['D'], label: 'D', what: 'delete (asks first)', section: 'VM', hint: 'delete', action: 'delete', marks: true, moves: true, run: act('delete') },
  { keys: ['n'], label: 'n', what: 'new VM', section: 'VM', hint: 'new', moves: true, run: (c) => c.create() },
  { keys: ['e'], label: 'e', what: 'edit a stopped VM', section: 'VM', hint: 'edit', action: 'edit', moves: true, run: act('edit') },
  { keys: ['c'], label: 'c', what: 'clone a stopped VM (asks for the new name)', section: 'VM', hint: 'clone', action: 'clone', moves: true, run: act('clone') },
  { keys: ['m'], label: 'm', what: 'rename a stopped VM (the guest keeps its hostname)', section: 'VM', action: 'rename', moves: true, run: act('rename') },
  { keys: ['v', 'V'], label: 'v V', what: 'snapshot now / list snapshots (Enter restores, D removes)', section: 'VM', hint: 'snapshot', action: 'snapshot', moves: true, run: (c, k) => c.act(k === 'v' ? 'snapshot' : 'snapshots') },

  { keys: ['enter'], label: 'Enter', what: 'open the console pane and type into it', section: 'Console, SSH and log', hint: 'console', action: 'console', moves: true, run: (c) => c.openConsole() },
  { keys: ['tab'], label: 'Tab', what: 'focus the console pane (from the table)', section: 'Console, SSH and log', moves: true, run: (c) => c.focusConsole() },
  { keys: ['f'], label: 'f', what: 'console pane full screen / split', section: 'Console, SSH and log', moves: true, run: (c) => c.toggleFull() },
  { keys: ['x'], label: 'x', what: 'close the console pane', section: 'Console, SSH and log', run: (c) => c.closeConsole() },
  { keys: ['a'], label: 'a', what: 'attach full screen (the escape key comes back)', section: 'Console, SSH and log', hint: 'attach', action: 'attach', moves: true, run: act('attach') },
  { keys: ['h'], label: 'h', what: 'SSH session full screen (bento ssh; exit comes back)', section: 'Console, SSH and log', hint: 'ssh', action: 'ssh', moves: true, run: act('ssh') },
  { keys: ['l'], label: 'l', what: 'serial log (j/k PgUp/PgDn g/G, Esc back)', section: 'Console, SSH and log', hint: 'log', moves: true, run: (c) => c.openLog() },

  { keys: [':'], label: ':', what: 'command: any bento command (:stop web db, :clone a b, :q quits)', section: 'Other', hint: 'cmd', moves: true, run: (c) => c.command() },
  { keys: ['?'], label: '?', what: 'this help', section: 'Other', hint: 'help', moves: true, run: (c) => c.help() },
  { keys: ['R'], label: 'R', what: 'reconnect to bentod now (starts it if needed)', section: 'Other', run: (c) => c.reconnect() },
  { keys: ['q', 'ctrl-c'], label: 'q Ctrl-C', what: 'quit (VMs keep running)', section: 'Other', hint: 'quit', moves: true, run: (c) => c.quit() },
];

/** A key as the table names it: `ctrl-c`, `up`, `enter`, `space`, or the character typed. */
export function keyName(input: string, key: Key): string {
  if (key.ctrl) return `ctrl-${input}`;
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.escape) return 'escape';
  if (key.return) return 'enter';
  if (key.tab) return 'tab';
  if (input === ' ') return 'space';
  return input;
}

const BY_NAME = new Map<string, TableKey>(TABLE_KEYS.flatMap((k) => k.keys.map((n) => [n, k] as const)));

/** The binding of a key name, if the table has one. */
export function bindingOf(name: string): TableKey | undefined {
  return BY_NAME.get(name);
}

/**
 * Runs the binding of one key. Returns true when the key may have moved the focus elsewhere (so the
 * keys read after it go there); false for keys the table does not know.
 */
export function dispatchTableKey(c: TableCommands, input: string, key: Key): boolean {
  const b = BY_NAME.get(keyName(input, key));
  if (!b) return false;
  const name = keyName(input, key);
  b.run(c, name);
  return b.moves === true;
}
