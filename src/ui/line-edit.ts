/** One-line text editing for form fields and the filter, as a pure function of the key. */

/** Text and cursor position. */
export interface LineState {
  text: string;
  cursor: number;
}

/** The parts of Ink's Key that editing reads. */
export interface EditKey {
  leftArrow?: boolean;
  rightArrow?: boolean;
  home?: boolean;
  end?: boolean;
  backspace?: boolean;
  delete?: boolean;
  ctrl?: boolean;
  meta?: boolean;
  tab?: boolean;
  return?: boolean;
  escape?: boolean;
  upArrow?: boolean;
  downArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
}

// Pasted text may carry newlines or escapes; a one-line field keeps only printable characters.
// eslint-disable-next-line no-control-regex -- matching control bytes is the point
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f]/g;

/** The line after a key, or null when the key is not an editing key. */
export function editLine(s: LineState, input: string, key: EditKey): LineState | null {
  const { text, cursor } = s;
  // Ink reports the Backspace key (0x7f) as `delete`; both erase backwards, as people expect.
  if (key.backspace || key.delete) {
    if (cursor === 0) return s;
    return { text: text.slice(0, cursor - 1) + text.slice(cursor), cursor: cursor - 1 };
  }
  if (key.leftArrow) return { text, cursor: Math.max(cursor - 1, 0) };
  if (key.rightArrow) return { text, cursor: Math.min(cursor + 1, text.length) };
  if (key.home || (key.ctrl && input === 'a')) return { text, cursor: 0 };
  if (key.end || (key.ctrl && input === 'e')) return { text, cursor: text.length };
  if (key.ctrl && input === 'u') return { text: text.slice(cursor), cursor: 0 };
  if (key.ctrl && input === 'k') return { text: text.slice(0, cursor), cursor };
  if (key.ctrl && input === 'd') return { text: text.slice(0, cursor) + text.slice(cursor + 1), cursor };
  if (key.ctrl && input === 'w') {
    const before = text.slice(0, cursor).replace(/\S+\s*$/, '');
    return { text: before + text.slice(cursor), cursor: before.length };
  }
  if (key.ctrl || key.meta || key.tab || key.return || key.escape || key.upArrow || key.downArrow || key.pageUp || key.pageDown) return null;
  const clean = input.replace(UNPRINTABLE, '');
  if (!clean) return null;
  return { text: text.slice(0, cursor) + clean + text.slice(cursor), cursor: cursor + clean.length };
}
