import { dispatchTableKey, type TableCommands } from '../key-table.js';
import { useKeys } from './use-keys.js';

export type { TableAction, TableCommands } from '../key-table.js';

/** The table's keys, while the table has the focus: dispatched from the one key list (key-table.ts). */
export function useTableKeys(commands: TableCommands, { isActive }: { isActive: boolean }): void {
  useKeys((input, key) => dispatchTableKey(commands, input, key), { isActive, perChar: true });
}
