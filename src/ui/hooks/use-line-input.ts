import { useRef, useState } from 'react';
import { editLine, type LineState } from '../line-edit.js';
import { useKeys } from './use-keys.js';

/** Options of useLineInput. */
export interface LineInputOptions {
  isActive: boolean;
  initial?: string;
  /** Earlier entries, oldest first: ↑ and ↓ walk them. */
  history?: readonly string[];
  onSubmit(text: string): void;
  onCancel(): void;
}

/** A one-line text input with Enter, Esc and ↑/↓ history (the `:` command line, the name dialog). */
export function useLineInput(opts: LineInputOptions): LineState {
  const [line, setLine] = useState<LineState>(() => ({ text: opts.initial ?? '', cursor: (opts.initial ?? '').length }));
  // Keys read together arrive before a render: each edits the line the previous one left.
  const cur = useRef(line);
  const pos = useRef<number | null>(null);
  const set = (next: LineState): void => {
    cur.current = next;
    setLine(next);
  };
  useKeys(
    (input, key) => {
      if (key.return) {
        opts.onSubmit(cur.current.text);
        return true;
      }
      if (key.escape) {
        opts.onCancel();
        return true;
      }
      const hist = opts.history ?? [];
      if ((key.upArrow || key.downArrow) && hist.length) {
        const i = pos.current ?? hist.length;
        const next = key.upArrow ? Math.max(i - 1, 0) : Math.min(i + 1, hist.length);
        pos.current = next;
        const text = hist[next] ?? '';
        set({ text, cursor: text.length });
        return;
      }
      const next = editLine(cur.current, input, key);
      if (next) set(next);
    },
    { isActive: opts.isActive },
  );
  return line;
}
