/**
 * Ink reads everything that arrived at once as one input: "jjj" when a key repeats faster than
 * frames, "\rs" when keys arrive together (tmux, a pty test, a busy machine). This splits such input
 * back into the keys it was, so no key is lost or misread.
 */
import type { Key } from 'ink';

/** A key with no flags set. */
export const PLAIN: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** One key: what Ink would have reported had it arrived alone, and the raw text it came from. */
export interface SplitKey {
  input: string;
  key: Key;
  raw: string;
}

/** A control character as Ink would have reported it had it arrived alone. */
function controlKey(ch: string): SplitKey {
  const code = ch.charCodeAt(0);
  if (ch === '\r' || ch === '\n') return { input: '', key: { ...PLAIN, return: true }, raw: ch };
  if (ch === '\t') return { input: '', key: { ...PLAIN, tab: true }, raw: ch };
  if (code === 0x7f || code === 8) return { input: '', key: { ...PLAIN, delete: true }, raw: ch };
  return { input: String.fromCharCode(code + 96), key: { ...PLAIN, ctrl: true }, raw: ch };
}

const isControl = (ch: string): boolean => {
  const c = ch.charCodeAt(0);
  return c < 0x20 || c === 0x7f;
};

/**
 * The keys in a run of text without escape sequences: control characters are keys of their own;
 * printable runs stay together (a paste into a text field is one insert) unless `perChar` asks for
 * one key per character (the table, whose keys are single characters).
 */
export function splitKeys(text: string, perChar = false): SplitKey[] {
  const out: SplitKey[] = [];
  let run = '';
  const flush = (): void => {
    if (!run) return;
    if (perChar) for (const ch of run) out.push({ input: ch, key: { ...PLAIN, shift: ch !== ch.toLowerCase() }, raw: ch });
    else out.push({ input: run, key: { ...PLAIN, shift: run.length === 1 && run !== run.toLowerCase() }, raw: run });
    run = '';
  };
  for (const ch of text) {
    if (isControl(ch)) {
      flush();
      out.push(controlKey(ch));
    } else run += ch;
  }
  flush();
  return out;
}
