import type { Key } from 'ink';
import { useKeys } from './use-keys.js';

/** Options of useFilterInput. */
export interface FilterInputOptions {
  isActive: boolean;
  /** A key that edits the filter text (the reducer applies it to the latest text). */
  onEdit(input: string, key: Key): void;
  /** Enter (or an arrow): keep the filter. */
  onDone(): void;
  /** Esc: drop it. */
  onClear(): void;
}

/** Typing a `/` filter: the table narrows with every key. */
export function useFilterInput(opts: FilterInputOptions): void {
  useKeys(
    (input, key) => {
      if (key.return || key.upArrow || key.downArrow) {
        opts.onDone();
        return true;
      }
      if (key.escape) {
        opts.onClear();
        return true;
      }
      opts.onEdit(input, key);
    },
    { isActive: opts.isActive },
  );
}
