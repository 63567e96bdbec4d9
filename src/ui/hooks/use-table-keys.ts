import type { Key } from 'ink';
import type { SortKey } from '../vm-view.js';
import { useKeys } from './use-keys.js';

/** What the table's keys do; App wires them to the view and the API. */
export interface TableKeyHandlers {
  move(delta: number): void;
  /** To the first (-Infinity) or last (+Infinity) row. */
  jump(to: number): void;
  page(direction: -1 | 1): void;
  sort(key: SortKey): void;
  startFilter(): void;
  clearFilter(): void;
  /** A VM action key: start, stop, kill, pause-toggle, restart, edit, delete, attach, ssh, snapshot, snapshots. */
  act(action: TableAction): void;
  create(): void;
  openConsole(): void;
  focusConsole(): void;
  toggleFull(): void;
  closeConsole(): void;
  openLog(): void;
  help(): void;
  reconnect(): void;
  quit(): void;
}

/** The VM actions bound to table keys. */
export type TableAction = 'start' | 'stop' | 'kill' | 'pause-toggle' | 'restart' | 'suspend' | 'edit' | 'delete' | 'attach' | 'ssh' | 'snapshot' | 'snapshots';

const SORT_KEYS: Record<string, SortKey> = { N: 'name', T: 'state', C: 'cpus', M: 'memory', U: 'uptime' };
const ACTION_KEYS: Record<string, TableAction> = { s: 'start', S: 'stop', K: 'kill', p: 'pause-toggle', r: 'restart', z: 'suspend', e: 'edit', D: 'delete', a: 'attach', h: 'ssh', v: 'snapshot', V: 'snapshots' };
// Actions that open a dialog or leave the screen: keys typed after them belong to what opens.
const MOVES_FOCUS: ReadonlySet<TableAction> = new Set(['kill', 'edit', 'delete', 'attach', 'ssh', 'snapshots']);

/**
 * Routes one key in the table to its handler. Returns true when the key may have moved the focus
 * elsewhere (a dialog, the filter, the console), so the keys after it go there.
 */
export function tableKey(h: TableKeyHandlers, input: string, key: Key): boolean {
  if (key.ctrl) {
    if (input === 'c') h.quit();
    else if (input === 'f' || input === 'd') h.page(1);
    else if (input === 'b' || input === 'u') h.page(-1);
    return input === 'c';
  }
  if (key.upArrow || input === 'k') h.move(-1);
  else if (key.downArrow || input === 'j') h.move(1);
  else if (key.pageUp) h.page(-1);
  else if (key.pageDown) h.page(1);
  else if (key.home || input === 'g') h.jump(-Infinity);
  else if (key.end || input === 'G') h.jump(Infinity);
  else if (key.escape) h.clearFilter();
  else if (SORT_KEYS[input]) h.sort(SORT_KEYS[input]);
  else if (input === 'x') h.closeConsole();
  else if (input === 'R') h.reconnect();
  else if (ACTION_KEYS[input]) {
    const a = ACTION_KEYS[input];
    h.act(a);
    return MOVES_FOCUS.has(a);
  } else if (key.return || input === 'c') h.openConsole();
  else if (key.tab) h.focusConsole();
  else if (input === '/') h.startFilter();
  else if (input === 'n') h.create();
  else if (input === 'f') h.toggleFull();
  else if (input === 'l') h.openLog();
  else if (input === '?') h.help();
  else if (input === 'q') h.quit();
  else return false;
  return !(key.upArrow || key.downArrow || key.pageUp || key.pageDown || key.home || key.end || key.escape || 'kjgGNTCMUxR'.includes(input));
}

/** The table's keys, while the table has the focus. */
export function useTableKeys(handlers: TableKeyHandlers, { isActive }: { isActive: boolean }): void {
  useKeys((input, key) => tableKey(handlers, input, key), { isActive, perChar: true });
}
