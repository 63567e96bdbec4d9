/**
 * Answers a guest's window-size probe on a serial console. A serial line carries no window size, so
 * `resize` (busybox's and xterm's) moves the cursor to 999;999, which the terminal clamps to its
 * bottom-right cell, and asks where the cursor is (CSI 6n). The sanitiser drops that query before it
 * reaches the host terminal (a terminal's answers must not be forgeable by the guest), so the console
 * client answers it itself from the real terminal's size.
 *
 * It answers only when it knows the cursor position for certain: right after an absolute move (CUP
 * or HVP, clamped to the screen) or a scroll-region reset (which homes the cursor), with nothing but
 * a cursor save (ESC 7) in between. Any other output makes the position unknown, and the query is
 * then left unanswered as before (ash's line editor asks after every prompt and copes without).
 */

/** The size of the terminal the guest's output is shown on, or null when unknown. */
export type TerminalSize = () => { cols: number; rows: number } | null;

/** Scans guest output; scan returns the answers to send to the guest as input, in order. */
export interface SizeProbe {
  scan(chunk: Uint8Array): Buffer[];
}

const ESC = 0x1b;
/** Longest CSI tracked; anything longer is not a sequence this cares about. */
const MAX_CSI = 32;

type State = 'ground' | 'esc' | 'csi';

/** A scanner that answers CSI 6n when the cursor position is known (see the module comment). */
export function createSizeProbe(size: TerminalSize): SizeProbe {
  let state: State = 'ground';
  let csi = '';
  let pos: { row: number; col: number } | null = null;

  const param = (s: string | undefined): number => {
    // Empty or 0 means 1 for CUP; huge values are clamped anyway, so cap before Number() overflows.
    const n = s === undefined || s === '' ? 1 : Number(s.slice(0, 6));
    return Number.isFinite(n) && n >= 1 ? n : 1;
  };

  const onCsi = (body: string, final: string, out: Buffer[]): void => {
    // Private (<=>?) parameters and intermediates mean another sequence than the ones tracked here.
    const plain = /^[0-9;]*$/.test(body);
    if (plain && (final === 'H' || final === 'f')) {
      const s = size();
      if (!s) {
        pos = null;
        return;
      }
      const [r, c] = body.split(';');
      pos = { row: Math.min(param(r), s.rows), col: Math.min(param(c), s.cols) };
      return;
    }
    if (plain && final === 'r' && body === '') {
      // DECSTBM with no parameters: full-screen scroll region, cursor to the home position.
      pos = { row: 1, col: 1 };
      return;
    }
    if (final === 'n' && body === '6') {
      if (pos) out.push(Buffer.from(`\x1b[${pos.row};${pos.col}R`));
      return;
    }
    pos = null;
  };

  return {
    scan(chunk) {
      const out: Buffer[] = [];
      for (const b of chunk) {
        if (state === 'ground') {
          if (b === ESC) state = 'esc';
          else pos = null;
        } else if (state === 'esc') {
          if (b === 0x5b) {
            state = 'csi';
            csi = '';
          } else {
            // ESC 7 (save cursor) leaves it where it is; any other escape may move it.
            if (b !== 0x37) pos = null;
            state = b === ESC ? 'esc' : 'ground';
          }
        } else if (b >= 0x40 && b <= 0x7e) {
          onCsi(csi, String.fromCharCode(b), out);
          state = 'ground';
        } else if (b >= 0x20 && b <= 0x3f) {
          // An overlong sequence is kept as one that matches nothing tracked.
          csi = csi.length < MAX_CSI ? csi + String.fromCharCode(b) : '!';
        } else {
          // A control byte inside a CSI or an overlong one: give up on it.
          pos = null;
          state = b === ESC ? 'esc' : 'ground';
        }
      }
      return out;
    },
  };
}
