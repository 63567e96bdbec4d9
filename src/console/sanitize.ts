/**
 * Streaming sanitiser for untrusted guest console output, run before the bytes reach the user's real
 * terminal. A VT500-style parser (ground, escape, CSI, OSC / DCS / SOS / PM / APC strings) works on
 * bytes, keeps its state across chunks, validates UTF-8, and lets through only text and an allowlist
 * of complete sequences; everything else is dropped whole. Safe by construction: the host terminal
 * only ever sees validated text and whole allowlisted sequences, so it is always back in its ground
 * state after each thing we emit, whatever the guest sent. It assumes a UTF-8 host terminal, which the
 * guest cannot change (ESC % @ is dropped). Attach mode should write TERMINAL_RESTORE (exported here)
 * on every exit path: it undoes each state the allowlist lets a guest set.
 *
 * | Input                                              | Decision | Why                                                      |
 * |----------------------------------------------------|----------|----------------------------------------------------------|
 * | Printable ASCII, valid UTF-8 (U+00A0 and up)       | keep     | the text itself                                          |
 * | CR LF TAB BS, BEL outside strings                  | keep     | line discipline and the bell                             |
 * | SO / SI, ESC ( / ESC ) with B 0 A                  | keep     | G0/G1 line drawing (TERM=linux/vt100 ncurses)            |
 * | Other C0 (NUL, ENQ answerback, VT, FF, DEL, ...)   | drop     | ENQ answers; the rest is not needed                      |
 * | CAN / SUB                                          | drop     | abort the sequence in progress, as in VT500              |
 * | Invalid UTF-8, overlong, surrogates                | U+FFFD   | a lenient host decoder could read an overlong ESC / C1   |
 * | C1 controls encoded in UTF-8 (U+0080-U+009F)       | drop     | 8-bit CSI/OSC/DCS act on some hosts; the whole C1-led    |
 * |                                                    |          | sequence and its payload are dropped, never rewritten    |
 * | Raw 0x80-0x9F bytes                                | U+FFFD   | invalid UTF-8, never passed on, so they cannot act; the  |
 * |                                                    |          | text after a stray byte stays text                        |
 * | OSC (all: 0/1/2 title, 4/10/11 colours, 7 cwd,     | drop     | titles were CVE-2003-0063 (title report injection);      |
 * |   8 hyperlinks, 50 font, 52 clipboard, 777 notify) |          | 50 is CVE-2022-45063; 52 writes/reads the clipboard;     |
 * |                                                    |          | 8 shows one URL and opens another (host file:// links)   |
 * | DCS (DECRQSS, XTGETTCAP, sixel, tmux passthrough)  | drop     | CVE-2008-2383; passthrough smuggles any sequence         |
 * | SOS / PM / APC (kitty graphics)                    | drop     | nothing needs them; parsers of them have had bugs        |
 * | SGR (CSI ... m), 16/256/truecolor, colon forms     | keep     | colours                                                  |
 * | CUU CUD CUF CUB CNL CPL CHA CUP HVP VPA VPR HPA    | keep     | cursor movement (at most 1 or 2 params as defined)       |
 * |   HPR CHT CBT, ICH DCH IL DL ECH SU SD REP         |          | editing and scrolling                                    |
 * | ED / EL 0-2                                        | keep     | erase                                                    |
 * | ED 3 (erase saved lines)                           | drop     | wipes the host's own scrollback, not the guest's screen  |
 * | DECSTBM (CSI t;b r), SCOSC / SCORC (bare CSI s/u)  | keep     | scroll regions, save/restore cursor                      |
 * | ESC 7 / 8, ESC D / E / M, ESC = / >                | keep     | save/restore, index/reverse index (less, vi), keypad     |
 * | CSI ? h/l: 1 5 6 7 12 25 47 66 1047 1048 1049      | keep     | cursor keys, reverse video (flash), origin, autowrap,    |
 * |   2004 2026                                        |          | blink, visibility, alt screen, keypad, paste, sync       |
 * | CSI ? h/l: 9 1000-1006 1015 1016 (mouse), 1004     | drop     | change what the host terminal sends as input             |
 * | CSI ? h/l: 3 8 67 1007 1034-1039 and unknown ones  | drop     | window size, autorepeat, BS/DEL, alt-scroll, meta keys   |
 * | Mixed mode lists (CSI ? 1049;1000 h)               | rewrite  | re-emitted with only the allowed modes                   |
 * | CSI h/l: 4 (IRM)                                   | keep     | insert mode; 2 KAM locks the keyboard, 12 / 20 change    |
 * |                                                    |          | echo and Enter, so they are dropped                      |
 * | DSR 5n/6n/?6n, DA1/2/3 (c, >c, =c), DECRQM $p,     | drop     | each makes the host terminal answer into our stdin       |
 * |   DECREQTPARM x, XTVERSION >q, DECID ESC Z         |          |                                                          |
 * | CSI ... t (all window ops incl. 14t/18t/21t)       | drop     | resize/move/iconify the window or report title and size  |
 * | CSI > ... / CSI = ... / CSI < ... (modifyOtherKeys,| drop     | change the keyboard protocol or answer                   |
 * |   kitty keyboard), CSI u / s with params           |          |                                                          |
 * | DECSCUSR (CSI n SP q, n <= 6)                      | keep     | cursor shape is cosmetic; TERMINAL_RESTORE resets it     |
 * | RIS (ESC c), DECSTR (CSI ! p)                      | drop     | RIS resets palette, tabs and may clear host scrollback;  |
 * |                                                    |          | neither is needed by full-screen programs                |
 * | TBC (CSI g), HTS (ESC H)                           | drop     | tab stops outlive the session, cannot be cheaply reset   |
 * | ESC % G / @, S7C1T / S8C1T, LS2/LS3, SS2/SS3       | drop     | leaving UTF-8 or 8-bit controls would undo this filter   |
 * | CSI i (media copy), DECLL, rectangle ops, locator  | drop     | printer passthrough, LEDs, answers                       |
 * | Parameters over 65535, sequences over the bound    | drop     | overflow bugs in host parsers; memory stays bounded      |
 * | Unknown or malformed sequences                     | drop     | allowlist, not denylist                                  |
 */
import { BentoError } from '../vm/errors.js';
import { allowEsc, judgeCsi } from './sanitize-policy.js';
import {
  GROUND,
  Output,
  TEXT,
  c1,
  createMachine,
  dropSequence,
  scanWhole,
  startEscape,
  stepSequence,
  utf8Length,
  type DropKind,
} from './sanitize-machine.js';

export type { DropKind } from './sanitize-machine.js';
export { TERMINAL_RESTORE } from './sanitize-policy.js';

/** Counters of what the sanitiser removed, and how many bytes it holds between chunks. */
export interface SanitizerStats {
  dropped: Record<DropKind, number>;
  /** Bytes of an unfinished sequence or character carried to the next chunk (bounded). */
  buffered: number;
}

/** Tuning for {@link createSanitizer}. */
export interface SanitizerOptions {
  /** Longest escape or CSI sequence kept whole (default 256); longer ones are dropped. */
  maxSequenceBytes?: number;
}

/** A streaming sanitiser: feed chunks in order, call flush at end of stream. */
export interface Sanitizer {
  /** Sanitises the next chunk; a sequence split across chunks is held until complete. */
  push(chunk: Uint8Array): Buffer;
  /** Ends the stream: an unfinished sequence is dropped, a partial character becomes U+FFFD. */
  flush(): Buffer;
  /** What was dropped so far. */
  stats(): SanitizerStats;
}

const REPLACEMENT = Uint8Array.of(0xef, 0xbf, 0xbd);

/** Creates a streaming sanitiser; see the table above for what it keeps. */
export function createSanitizer(opts: SanitizerOptions = {}): Sanitizer {
  const max = opts.maxSequenceBytes ?? 256;
  if (!Number.isInteger(max) || max < 16) {
    throw new BentoError('invalid-input', `maxSequenceBytes must be an integer >= 16, got ${max}`);
  }
  const m = createMachine(max);
  const out = new Output();
  // The UTF-8 decoder for ground text: continuation bytes still expected, the allowed range of
  // the next one, the lead byte, and a character's first bytes when it is split across chunks.
  let need = 0;
  let lo = 0x80;
  let hi = 0xbf;
  let lead = 0;
  const carry = new Uint8Array(4);
  let carryLen = 0;

  function replacement(): void {
    out.copy(REPLACEMENT, 0, 3);
    m.dropped.utf8++;
  }

  function push(chunk: Uint8Array): Buffer {
    const len = chunk.length;
    out.reset(len + max + 8);
    let runStart = 0; // in ground: first byte of text not yet copied out
    let charStart = 0; // with need > 0: first byte of the current UTF-8 character in this chunk
    let i = 0;
    while (i < len) {
      if (m.state !== GROUND) {
        // Whatever ends a sequence, ground text starts after the bytes it consumed.
        i = runStart = stepSequence(m, out, chunk, i, len);
        continue;
      }
      const b = chunk[i]!;
      if (need > 0) {
        if (b >= lo && b <= hi) {
          if (lead === 0xc2 && b <= 0x9f) {
            out.copy(chunk, runStart, charStart);
            need = 0;
            carryLen = 0;
            runStart = ++i;
            c1(m, b, false);
            continue;
          }
          lo = 0x80;
          hi = 0xbf;
          if (--need === 0 && carryLen > 0) {
            // The character began in an earlier chunk; nothing of this chunk is out yet, so order holds.
            out.copy(carry, 0, carryLen);
            carryLen = 0;
          }
          i++;
          continue;
        }
        // Truncated character: one U+FFFD, then look at this byte afresh.
        out.copy(chunk, runStart, charStart);
        replacement();
        need = 0;
        carryLen = 0;
        runStart = i;
        continue;
      }
      if (TEXT[b] === 1) {
        i++;
        // The hot path: text and line controls stay in the run, copied in one go later.
        while (i < len) {
          const c = chunk[i]!;
          if (TEXT[c] === 1) i++;
          else if (c >= 0xc2 && c <= 0xf4) {
            const whole = utf8Length(chunk, i, len);
            if (whole === 0) break;
            i += whole;
          } else break;
        }
        continue;
      }
      if (b === 0x1b) {
        // A whole sequence inside this chunk is judged in place, and a kept one simply stays part
        // of the run; split or odd sequences go through the state machine, with the same result.
        const end = scanWhole(chunk, i, len, max);
        if (end > 0) {
          const isCsi = chunk[i + 1] === 0x5b;
          const verdict = isCsi ? judgeCsi(chunk, i, end) : allowEsc(chunk, i, end) ? 'keep' : 'drop';
          if (verdict !== 'keep') {
            out.copy(chunk, runStart, i);
            if (verdict !== 'drop') out.copy(verdict, 0, verdict.length);
            else if (isCsi) m.dropped.csi++;
            else m.dropped.esc++;
            runStart = end;
          }
          i = end;
          continue;
        }
      }
      if (b >= 0xc2 && b <= 0xf4) {
        const whole = utf8Length(chunk, i, len);
        if (whole > 0) {
          i += whole;
          continue;
        }
        need = b < 0xe0 ? 1 : b < 0xf0 ? 2 : 3;
        lo = b === 0xe0 ? 0xa0 : b === 0xf0 ? 0x90 : 0x80;
        hi = b === 0xed ? 0x9f : b === 0xf4 ? 0x8f : 0xbf;
        lead = b;
        charStart = i++;
        continue;
      }
      out.copy(chunk, runStart, i);
      runStart = ++i;
      if (b === 0x1b) startEscape(m);
      // A raw 0x80-0x9F byte is invalid UTF-8, which is all a UTF-8 host terminal reads it as; it is
      // never passed on, so it cannot act as a control, and it must not swallow the text after it.
      else if (b >= 0x80) replacement();
      else m.dropped.c0++;
    }
    if (m.state === GROUND) {
      if (need > 0) {
        out.copy(chunk, runStart, charStart);
        for (let k = charStart; k < len; k++) carry[carryLen++] = chunk[k]!;
      } else out.copy(chunk, runStart, len);
    }
    return out.take();
  }

  function flush(): Buffer {
    out.reset(8);
    if (m.state === GROUND && need > 0) replacement();
    else dropSequence(m);
    m.state = GROUND;
    m.seqLen = 0;
    need = 0;
    carryLen = 0;
    return out.take();
  }

  return {
    push,
    flush,
    stats: () => ({ dropped: { ...m.dropped }, buffered: carryLen + (m.state === GROUND ? 0 : m.seqLen) }),
  };
}

/** Sanitises one complete buffer (push then flush). */
export function sanitize(data: Uint8Array): Buffer {
  const s = createSanitizer();
  return Buffer.concat([s.push(data), s.flush()]);
}
