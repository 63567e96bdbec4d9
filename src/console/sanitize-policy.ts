/**
 * The allowlist behind the console sanitiser: which complete escape and CSI sequences may reach the
 * user's real terminal. The state machine in `sanitize.ts` only ever asks about whole, well-formed
 * sequences; this file decides. The decisions and their reasons are tabled in `sanitize.ts`.
 */

/** What the policy says about one CSI sequence: pass it as it came, drop it, or pass these bytes instead. */
export type CsiVerdict = 'keep' | 'drop' | Uint8Array;

const ESC = 0x1b;

/**
 * DEC private modes (CSI ? Pm h / l) a guest may set: display-only modes plus the few input modes that
 * full-screen programs need (application cursor keys, keypad, bracketed paste). Everything else, mouse
 * and focus reporting above all, changes what the host terminal sends or answers, so it is dropped.
 */
const PRIVATE_MODES: ReadonlySet<number> = new Set([1, 5, 6, 7, 12, 25, 47, 66, 1047, 1048, 1049, 2004, 2026]);

/** ANSI modes (CSI Pm h / l): only IRM (4); KAM (2) locks the keyboard, SRM (12) and LNM (20) change input. */
const ANSI_MODES: ReadonlySet<number> = new Set([4]);

// Finals that take at most one numeric parameter and only move the cursor, edit or scroll the screen.
// T is here because with more than one parameter it means "start highlight mouse tracking".
const MAX_COUNT = new Uint8Array(128); // per final byte: how many parameters it may take (0 = not allowed)
for (const c of '@ABCDEFGILMPSTXZ`abde') MAX_COUNT[c.charCodeAt(0)] = 1;
for (const c of 'Hfr') MAX_COUNT[c.charCodeAt(0)] = 2;

// Larger values fit no real screen; capping them protects host parsers from overflow bugs.
const MAX_PARAM = 65535;
const MAX_PARAMS = 64;
const params = new Int32Array(MAX_PARAMS);

/**
 * Judges a complete CSI sequence `seq[start..end)` = ESC [ [prefix] params [intermediates] final,
 * already checked by the state machine for shape (prefix only first, params before intermediates).
 */
export function judgeCsi(seq: Uint8Array, start: number, end: number): CsiVerdict {
  const final = seq[end - 1]!;
  let i = start + 2;
  let prefix = 0;
  const first = seq[i]!;
  if (first >= 0x3c && first <= 0x3f) {
    prefix = first;
    i++;
  }
  let count = 0;
  let value = -1; // -1 = the parameter was left empty (its default)
  let colon = false;
  for (; i < end - 1; i++) {
    const b = seq[i]!;
    if (b >= 0x30 && b <= 0x39) {
      value = value < 0 ? b - 0x30 : value * 10 + (b - 0x30);
      if (value > MAX_PARAM) return 'drop';
    } else if (b === 0x3b || b === 0x3a) {
      if (b === 0x3a) colon = true;
      if (count >= MAX_PARAMS) return 'drop';
      params[count++] = value;
      value = -1;
    } else break;
  }
  // The last parameter ends at the first non-parameter byte; "CSI m" has one empty parameter.
  if (count >= MAX_PARAMS) return 'drop';
  params[count++] = value;
  const intermediates = end - 1 - i;
  const empty = count === 1 && params[0] === -1;

  if (intermediates === 1 && seq[i] === 0x20 && final === 0x71 && prefix === 0) {
    // DECSCUSR cursor shape: cosmetic, never answers; the restore sequence puts the default back.
    return count === 1 && params[0]! <= 6 && !colon ? 'keep' : 'drop';
  }
  if (intermediates !== 0) return 'drop';
  if (final === 0x6d) return prefix === 0 ? 'keep' : 'drop'; // SGR, colon sub-parameters included
  if (colon) return 'drop';
  if (final === 0x68 || final === 0x6c) {
    if (prefix === 0x3f) return filterModes(final, PRIVATE_MODES, true, count);
    if (prefix === 0) return filterModes(final, ANSI_MODES, false, count);
    return 'drop';
  }
  if (prefix !== 0) return 'drop';
  const most = MAX_COUNT[final]!;
  if (most > 0) return count <= most ? 'keep' : 'drop';
  if (final === 0x4a || final === 0x4b) {
    // ED / EL 0..2; ED 3 erases the host's own scrollback, which is not the guest's to touch.
    return count === 1 && params[0]! <= 2 ? 'keep' : 'drop';
  }
  if (final === 0x73 || final === 0x75) return empty ? 'keep' : 'drop'; // SCOSC / SCORC only
  return 'drop';
}

/** Keeps the allowed modes of a set/reset-mode sequence, rewriting it when some were removed. */
function filterModes(final: number, allowed: ReadonlySet<number>, priv: boolean, count: number): CsiVerdict {
  const kept: number[] = [];
  for (let k = 0; k < count; k++) {
    const p = params[k]!;
    if (p >= 0 && allowed.has(p)) kept.push(p);
  }
  if (kept.length === 0) return 'drop';
  if (kept.length === count) return 'keep';
  const text = `\x1b[${priv ? '?' : ''}${kept.join(';')}${String.fromCharCode(final)}`;
  return Buffer.from(text, 'latin1');
}

/**
 * Judges a complete escape sequence `seq[start..end)` = ESC [intermediates] final: cursor save/restore, keypad modes,
 * index / next line / reverse index, and G0/G1 designation of ASCII, DEC graphics or UK sets.
 */
export function allowEsc(seq: Uint8Array, start: number, end: number): boolean {
  if (seq[start] !== ESC) return false;
  if (end - start === 2) {
    const f = seq[start + 1]!;
    return f === 0x37 || f === 0x38 || f === 0x3d || f === 0x3e || f === 0x44 || f === 0x45 || f === 0x4d;
  }
  if (end - start === 3) {
    const g = seq[start + 1]!;
    const f = seq[start + 2]!;
    return (g === 0x28 || g === 0x29) && (f === 0x42 || f === 0x30 || f === 0x41);
  }
  return false;
}

/**
 * Bytes that undo every state the allowlist lets a guest change, for attach mode to write on every
 * exit path: leave the alternate screen, default attributes and character set, no scroll region or
 * origin mode, normal video, replace mode, normal cursor and keypad keys, no bracketed paste or
 * synchronized output, default cursor shape, autowrap on, cursor shown, cursor at the bottom row.
 */
export const TERMINAL_RESTORE: Buffer = Buffer.from(
  '\x1b[?1049l\x1b[0m\x0f\x1b(B\x1b[?6l\x1b[r\x1b[?5l\x1b[4l\x1b[?1l\x1b>\x1b[?66l' +
    '\x1b[?2004l\x1b[?2026l\x1b[?12l\x1b[0 q\x1b[?7h\x1b[?25h\x1b[9999;1H',
  'latin1',
);
