/**
 * The byte-level VT500 state machine behind the console sanitiser, for everything outside ground
 * text: escape, CSI (entry / param / intermediate / ignore) and the OSC, DCS, SOS / PM / APC strings.
 * `sanitize.ts` runs the ground state (text and UTF-8) and hands every other byte here.
 */
import { allowEsc, judgeCsi } from './sanitize-policy.js';

/** Why a piece of input was dropped. */
export type DropKind = 'osc' | 'dcs' | 'string' | 'csi' | 'esc' | 'c0' | 'c1' | 'utf8' | 'overflow';

/** Parser states. */
export const GROUND = 0;
const ESCAPE = 1;
const ESC_INT = 2;
const CSI = 3;
const CSI_IGNORE = 4;
const STR = 5;
const STR_ESC = 6;

const STR_OSC = 0;
const STR_DCS = 1;
const STR_OTHER = 2;

/** C0 controls passed through: BEL BS TAB LF CR SO SI. */
export const KEEP_C0 = new Uint8Array(32);
for (const c of [0x07, 0x08, 0x09, 0x0a, 0x0d, 0x0e, 0x0f]) KEEP_C0[c] = 1;

/** Bytes that are text on their own: printable ASCII and the kept C0 controls. */
export const TEXT = new Uint8Array(256);
for (let c = 0x20; c < 0x7f; c++) TEXT[c] = 1;
for (let c = 0; c < 0x20; c++) TEXT[c] = KEEP_C0[c]!;

/** A growable output buffer, reset for each chunk. */
export class Output {
  buf: Buffer = Buffer.alloc(0);
  n = 0;

  /** Starts a new output with room for `size` bytes. */
  reset(size: number): void {
    this.buf = Buffer.allocUnsafe(size);
    this.n = 0;
  }

  /** Appends src[a..b). */
  copy(src: Uint8Array, a: number, b: number): void {
    const len = b - a;
    if (len <= 0) return;
    if (this.n + len > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.n + len));
      this.buf.copy(next, 0, 0, this.n);
      this.buf = next;
    }
    // Short runs are cheaper byte by byte than through a native copy call.
    if (len < 48) for (let k = a; k < b; k++) this.buf[this.n++] = src[k]!;
    else {
      this.buf.set(src.subarray(a, b), this.n);
      this.n += len;
    }
  }

  /** What was written since the last reset. */
  take(): Buffer {
    return this.buf.subarray(0, this.n);
  }
}

/** Parser state carried across chunks; memory is bounded by `seq`. */
export interface Machine {
  state: number;
  seq: Uint8Array;
  seqLen: number;
  /** The escape sequence outgrew the bound: drop it at its final byte. */
  seqBad: boolean;
  /** 0 entry, 1 parameters, 2 intermediates. */
  csiPhase: number;
  strKind: number;
  /** The string was opened by a raw 8-bit control, so a raw 0x9C ends it. */
  strRaw: boolean;
  /** Previous byte inside a string, to see a UTF-8 encoded ST (C2 9C). */
  prev: number;
  dropped: Record<DropKind, number>;
}

/** A machine in ground state holding sequences of at most `max` bytes. */
export function createMachine(max: number): Machine {
  return {
    state: GROUND,
    seq: new Uint8Array(max),
    seqLen: 0,
    seqBad: false,
    csiPhase: 0,
    strKind: STR_OSC,
    strRaw: false,
    prev: 0,
    dropped: { osc: 0, dcs: 0, string: 0, csi: 0, esc: 0, c0: 0, c1: 0, utf8: 0, overflow: 0 },
  };
}

/** Enters the escape state on an ESC. */
export function startEscape(m: Machine): void {
  m.state = ESCAPE;
  m.seq[0] = 0x1b;
  m.seqLen = 1;
  m.seqBad = false;
}

/** Counts the sequence in progress as dropped (strings were counted when they began). */
export function dropSequence(m: Machine): void {
  if (m.state === CSI) m.dropped.csi++;
  else if (m.state === ESCAPE || m.state === ESC_INT) m.dropped.esc++;
}

function startString(m: Machine, kind: number): void {
  m.state = STR;
  m.strKind = kind;
  m.strRaw = false;
  m.prev = 0;
  if (kind === STR_OSC) m.dropped.osc++;
  else if (kind === STR_DCS) m.dropped.dcs++;
  else m.dropped.string++;
}

/** An 8-bit control, raw or decoded from UTF-8: any CSI or string it opens is dropped whole. */
export function c1(m: Machine, code: number, raw: boolean): void {
  m.dropped.c1++;
  if (code === 0x9b) m.state = CSI_IGNORE;
  else if (code === 0x9d) startString(m, STR_OSC);
  else if (code === 0x90) startString(m, STR_DCS);
  else if (code === 0x98 || code === 0x9e || code === 0x9f) startString(m, STR_OTHER);
  // Otherwise a raw 0x9C inside the string is just a UTF-8 continuation byte.
  m.strRaw = raw;
}

/** A C0 control inside an escape or CSI sequence: VT500 executes it without leaving the sequence. */
function control(m: Machine, out: Output, b: number, at: Uint8Array, i: number): void {
  if (b === 0x18 || b === 0x1a) {
    dropSequence(m);
    m.state = GROUND;
  } else if (b === 0x1b) {
    dropSequence(m);
    startEscape(m);
  } else if (KEEP_C0[b]) out.copy(at, i, i + 1);
  else m.dropped.c0++;
}

/**
 * Runs the machine over chunk[i..len) while it is outside ground state; returns the index of the
 * first byte not consumed (ground text starts there) or len.
 */
export function stepSequence(m: Machine, out: Output, chunk: Uint8Array, i: number, len: number): number {
  const max = m.seq.length;
  const seq = m.seq;
  while (i < len && m.state !== GROUND) {
    if (m.state === STR) {
      // Dropped string content: skip to the next byte that could end the string.
      let j = i;
      while (j < len) {
        const c = chunk[j]!;
        if (c === 0x1b || c === 0x07 || c === 0x18 || c === 0x1a || c === 0x9c) break;
        j++;
      }
      if (j > i) {
        m.prev = chunk[j - 1]!;
        i = j;
        continue;
      }
    }
    const b = chunk[i]!;
    switch (m.state) {
      case ESCAPE:
      case ESC_INT:
        if (b < 0x20) control(m, out, b, chunk, i);
        else if (b === 0x7f) {
          // DEL is ignored inside sequences.
        } else if (b >= 0x80) {
          m.dropped.esc++;
          m.state = GROUND;
          return i; // not ours: the byte is text (or C1) again
        } else if (b < 0x30) {
          if (m.seqLen < max - 1) seq[m.seqLen++] = b;
          else m.seqBad = true;
          m.state = ESC_INT;
        } else if (m.state === ESCAPE && b === 0x5b) {
          seq[m.seqLen++] = b;
          m.state = CSI;
          m.csiPhase = 0;
        } else if (m.state === ESCAPE && b === 0x5d) startString(m, STR_OSC);
        else if (m.state === ESCAPE && b === 0x50) startString(m, STR_DCS);
        else if (m.state === ESCAPE && (b === 0x58 || b === 0x5e || b === 0x5f)) startString(m, STR_OTHER);
        else {
          seq[m.seqLen++] = b;
          if (!m.seqBad && allowEsc(seq, 0, m.seqLen)) out.copy(seq, 0, m.seqLen);
          else {
            m.dropped.esc++;
            if (m.seqBad) m.dropped.overflow++;
          }
          m.state = GROUND;
        }
        break;
      case CSI:
        if (b < 0x20) control(m, out, b, chunk, i);
        else if (b === 0x7f) {
          // ignored
        } else if (b >= 0x40 && b <= 0x7e) {
          seq[m.seqLen++] = b;
          const verdict = judgeCsi(seq, 0, m.seqLen);
          if (verdict === 'keep') out.copy(seq, 0, m.seqLen);
          else if (verdict === 'drop') m.dropped.csi++;
          else out.copy(verdict, 0, verdict.length);
          m.state = GROUND;
        } else if (b >= 0x80 || m.seqLen >= max - 1) {
          if (b < 0x80) m.dropped.overflow++;
          m.dropped.csi++;
          m.state = CSI_IGNORE;
        } else if (b >= 0x30) {
          // A prefix byte (< = > ?) only opens a sequence; parameters never follow intermediates.
          if (m.csiPhase === 2 || (b >= 0x3c && m.csiPhase !== 0)) {
            m.dropped.csi++;
            m.state = CSI_IGNORE;
          } else {
            seq[m.seqLen++] = b;
            m.csiPhase = 1;
          }
        } else {
          seq[m.seqLen++] = b;
          m.csiPhase = 2;
        }
        break;
      case CSI_IGNORE:
        if (b < 0x20) control(m, out, b, chunk, i);
        else if (b >= 0x40 && b <= 0x7e) m.state = GROUND;
        break;
      case STR:
        if (b === 0x1b) m.state = STR_ESC;
        else if ((b === 0x07 && m.strKind === STR_OSC) || b === 0x18 || b === 0x1a || (b === 0x9c && (m.strRaw || m.prev === 0xc2))) {
          m.state = GROUND;
        }
        m.prev = b;
        break;
      default: // STR_ESC
        if (b !== 0x5c) {
          // ESC then anything but "\" ends the string and starts a new escape sequence.
          startEscape(m);
          continue;
        }
        m.state = GROUND;
    }
    i++;
  }
  return i;
}

/**
 * End (exclusive) of a complete, well-formed CSI or short escape sequence at `at` within this chunk,
 * or -1 when it is split, odd or too long (stepSequence then decides, with the same result).
 */
export function scanWhole(buf: Uint8Array, at: number, len: number, max: number): number {
  let j = at + 1;
  if (j >= len) return -1;
  const b1 = buf[j]!;
  if (b1 !== 0x5b) {
    if (b1 >= 0x30 && b1 <= 0x7e) {
      return b1 === 0x50 || b1 === 0x58 || b1 === 0x5d || b1 === 0x5e || b1 === 0x5f ? -1 : j + 1;
    }
    if (b1 >= 0x20 && b1 <= 0x2f && j + 1 < len) {
      const f = buf[j + 1]!;
      if (f >= 0x30 && f <= 0x7e) return j + 2;
    }
    return -1;
  }
  j++;
  if (j < len && buf[j]! >= 0x3c && buf[j]! <= 0x3f) j++;
  while (j < len && buf[j]! >= 0x30 && buf[j]! <= 0x3b) j++;
  while (j < len && buf[j]! >= 0x20 && buf[j]! <= 0x2f) j++;
  if (j >= len || j + 1 - at > max) return -1;
  const f = buf[j]!;
  return f >= 0x40 && f <= 0x7e ? j + 1 : -1;
}

/** Length of a complete, valid UTF-8 character at `i` that is not a C1 control, or 0. */
export function utf8Length(buf: Uint8Array, i: number, len: number): number {
  const b = buf[i]!;
  const k = b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
  if (i + k > len) return 0;
  const c = buf[i + 1]!;
  const lo = b === 0xc2 || b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
  const hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
  if (c < lo || c > hi) return 0;
  for (let j = 2; j < k; j++) {
    const d = buf[i + j]!;
    if (d < 0x80 || d > 0xbf) return 0;
  }
  return k;
}
