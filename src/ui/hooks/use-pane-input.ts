import { useRawKeys } from './use-keys.js';

/** Options of usePaneInput. */
export interface PaneInputOptions {
  isActive: boolean;
  /** The byte that leaves the pane (Ctrl-] = 0x1d); it never reaches the program. */
  escape: number;
  onData(data: string): void;
  onEscape(): void;
  /** Shift-PgUp / Shift-PgDn: scroll the pane's view by a page (-1 up, +1 down). */
  onScroll?(pages: number): void;
}

const SHIFT_PGUP = '\x1b[5;2~';
const SHIFT_PGDN = '\x1b[6;2~';

/**
 * Forwards raw input to a pane's program while the pane has the keys: the bytes as read, since
 * key names would lose what a guest needs (Ctrl-C, arrows, Tab, Esc). Only the escape byte and the
 * scroll keys stay here; what follows the escape byte goes back to the table.
 */
export function usePaneInput(opts: PaneInputOptions): void {
  const esc = String.fromCharCode(opts.escape);
  useRawKeys(
    (data) => {
      if (data === SHIFT_PGUP || data === SHIFT_PGDN) {
        opts.onScroll?.(data === SHIFT_PGUP ? -1 : 1);
        return;
      }
      const i = data.indexOf(esc);
      if (i < 0) return void opts.onData(data);
      if (i > 0) opts.onData(data.slice(0, i));
      opts.onEscape();
      return data.slice(i + 1);
    },
    { isActive: opts.isActive },
  );
}
