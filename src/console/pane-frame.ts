/**
 * Turns the visible rows of an @xterm/headless terminal into a frame of styled runs: adjacent cells
 * with the same style merge into one run, so a renderer emits a few Ink <Text> nodes per line.
 */
import type { Terminal as HeadlessTerminal, IBufferCell } from '@xterm/headless';

/** A terminal palette index (0-255), a `#rrggbb` truecolour, or null for the default colour. */
export type PaneColor = number | string | null;

/** A stretch of cells on one line sharing one style. */
export interface PaneRun {
  text: string;
  fg: PaneColor;
  bg: PaneColor;
  bold: boolean;
  italic: boolean;
  underline: boolean;
  inverse: boolean;
  dim: boolean;
}

/** One screen line as runs; their cells always add up to the frame's width. */
export type PaneLine = PaneRun[];

/** What the pane shows: the visible rows (the viewport, which may be scrolled back) and the cursor. */
export interface PaneFrame {
  cols: number;
  rows: number;
  /** Cursor cell in viewport coordinates; not visible when hidden by the program or scrolled away. */
  cursor: { x: number; y: number; visible: boolean };
  lines: PaneLine[];
  /** Lines the viewport is scrolled back from the bottom (0 = following output). */
  scrolledBack: number;
  /** Lines held in scrollback above the screen. */
  scrollbackLines: number;
  /** Whether the program switched to the alternate screen (full-screen programs: vi, less, top). */
  altScreen: boolean;
}

const BOLD = 1;
const ITALIC = 2;
const UNDERLINE = 4;
const INVERSE = 8;
const DIM = 16;
const INVISIBLE = 32;

function color(isDefault: boolean, isRgb: boolean, value: number): PaneColor {
  if (isDefault) return null;
  if (isRgb) return `#${value.toString(16).padStart(6, '0')}`;
  return value;
}

function run(cell: IBufferCell, flags: number, text: string): PaneRun {
  return {
    text,
    fg: color(cell.isFgDefault(), cell.isFgRGB(), cell.getFgColor()),
    bg: color(cell.isBgDefault(), cell.isBgRGB(), cell.getBgColor()),
    bold: (flags & BOLD) !== 0,
    italic: (flags & ITALIC) !== 0,
    underline: (flags & UNDERLINE) !== 0,
    inverse: (flags & INVERSE) !== 0,
    dim: (flags & DIM) !== 0,
  };
}

/** Builds the frame for the terminal's current viewport. */
export function buildFrame(term: HeadlessTerminal, cursorShown: boolean): PaneFrame {
  const buf = term.buffer.active;
  const { cols, rows } = term;
  const cell = buf.getNullCell();
  const lines: PaneLine[] = [];
  for (let y = 0; y < rows; y++) {
    const line = buf.getLine(buf.viewportY + y);
    const runs: PaneRun[] = [];
    if (!line) {
      runs.push(run(buf.getNullCell(), 0, ' '.repeat(cols)));
      lines.push(runs);
      continue;
    }
    let cur: PaneRun | null = null;
    let text = '';
    let fgMode = -1;
    let fg = -1;
    let bgMode = -1;
    let bg = -1;
    let flags = -1;
    for (let x = 0; x < cols; x++) {
      if (!line.getCell(x, cell)) break;
      const width = cell.getWidth();
      if (width === 0) continue; // the right half of a wide character
      const f =
        (cell.isBold() ? BOLD : 0) |
        (cell.isItalic() ? ITALIC : 0) |
        (cell.isUnderline() ? UNDERLINE : 0) |
        (cell.isInverse() ? INVERSE : 0) |
        (cell.isDim() ? DIM : 0) |
        (cell.isInvisible() ? INVISIBLE : 0);
      const fm = cell.getFgColorMode();
      const fc = cell.getFgColor();
      const bm = cell.getBgColorMode();
      const bc = cell.getBgColor();
      // Raw modes and values compare cheaply; colours are converted once per run, not per cell.
      if (f !== flags || fm !== fgMode || fc !== fg || bm !== bgMode || bc !== bg) {
        if (cur) {
          cur.text = text;
          runs.push(cur);
        }
        cur = run(cell, f, '');
        text = '';
        flags = f;
        fgMode = fm;
        fg = fc;
        bgMode = bm;
        bg = bc;
      }
      // Concealed text (SGR 8) stays concealed: a renderer shows blanks, as a terminal would.
      text += f & INVISIBLE ? ' '.repeat(width) : cell.getChars() || ' ';
    }
    if (cur) {
      cur.text = text;
      runs.push(cur);
    }
    lines.push(runs);
  }
  const cursorRow = buf.baseY + buf.cursorY - buf.viewportY;
  return {
    cols,
    rows,
    cursor: {
      x: Math.min(buf.cursorX, cols - 1),
      y: Math.min(Math.max(cursorRow, 0), rows - 1),
      visible: cursorShown && cursorRow >= 0 && cursorRow < rows,
    },
    lines,
    scrolledBack: buf.baseY - buf.viewportY,
    scrollbackLines: buf.baseY,
    altScreen: buf.type === 'alternate',
  };
}

/** Whether two frames would render identically. */
export function framesEqual(a: PaneFrame, b: PaneFrame): boolean {
  if (a.cols !== b.cols || a.rows !== b.rows || a.scrolledBack !== b.scrolledBack || a.altScreen !== b.altScreen) return false;
  if (a.cursor.x !== b.cursor.x || a.cursor.y !== b.cursor.y || a.cursor.visible !== b.cursor.visible) return false;
  for (let y = 0; y < a.lines.length; y++) {
    const la = a.lines[y]!;
    const lb = b.lines[y];
    if (!lb || la.length !== lb.length) return false;
    for (let k = 0; k < la.length; k++) {
      const ra = la[k]!;
      const rb = lb[k]!;
      if (
        ra.text !== rb.text ||
        ra.fg !== rb.fg ||
        ra.bg !== rb.bg ||
        ra.bold !== rb.bold ||
        ra.italic !== rb.italic ||
        ra.underline !== rb.underline ||
        ra.inverse !== rb.inverse ||
        ra.dim !== rb.dim
      ) {
        return false;
      }
    }
  }
  return true;
}
