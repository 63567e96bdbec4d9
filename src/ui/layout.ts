/**
 * Where each pane goes for a terminal size, computed up front: the table must know exactly how many
 * rows it may render (only visible rows are rendered), and the console pane's pseudo-terminal must
 * be sized to the cells it gets. The frame is one line shorter than the terminal: Ink clears the
 * whole screen on every frame once its output reaches the terminal's height.
 */

/** A pane's outer size, borders included. */
export interface Rect {
  w: number;
  h: number;
}

/** Where the panes go. */
export interface Layout {
  cols: number;
  rows: number;
  /** Height of the body between the hint bar and the status line. */
  bodyH: number;
  /** How table, details and console are arranged. */
  arrangement: 'table-only' | 'details-right' | 'details-below' | 'console-below' | 'console-right' | 'console-full' | 'log';
  table: Rect | null;
  details: Rect | null;
  console: Rect | null;
  log: Rect | null;
}

/** Lines above and below the body: header, hint bar, status line, and the spare last line. */
export const CHROME_LINES = 4;

/** Lays the screen out. */
export function computeLayout(cols: number, rows: number, view: { console: { full: boolean } | null; log: unknown; focus?: string }, extraLines = 0): Layout {
  const c = Math.max(cols, 20);
  // extraLines: more header (the hosts line).
  const bodyH = Math.max(rows - CHROME_LINES - extraLines, 3);
  const base = { cols: c, rows, bodyH };
  if (view.log) return { ...base, arrangement: 'log', table: null, details: null, console: null, log: { w: c, h: bodyH } };
  if (view.console?.full) return { ...base, arrangement: 'console-full', table: null, details: null, console: { w: c, h: bodyH }, log: null };
  if (view.console) {
    if (c >= 150) {
      const left = Math.min(90, Math.floor(c * 0.45));
      const detailsH = bodyH >= 24 ? Math.min(14, Math.floor(bodyH * 0.4)) : 0;
      return {
        ...base,
        arrangement: 'console-right',
        table: { w: left, h: bodyH - detailsH },
        details: detailsH ? { w: left, h: detailsH } : null,
        console: { w: c - left, h: bodyH },
        log: null,
      };
    }
    const top = Math.max(Math.min(7, bodyH), Math.floor(bodyH * 0.4));
    // Too short to split usefully: whichever has the keys takes the body (the console stays open).
    if (bodyH - top < 6) {
      if (view.focus === 'console') return { ...base, arrangement: 'console-full', table: null, details: null, console: { w: c, h: bodyH }, log: null };
      return { ...base, arrangement: 'table-only', table: { w: c, h: bodyH }, details: null, console: null, log: null };
    }
    const detailsW = c >= 110 ? Math.min(48, Math.floor(c * 0.36)) : 0;
    return {
      ...base,
      arrangement: 'console-below',
      table: { w: c - detailsW, h: top },
      details: detailsW ? { w: detailsW, h: top } : null,
      console: { w: c, h: bodyH - top },
      log: null,
    };
  }
  if (c >= 110) {
    const detailsW = Math.min(48, Math.floor(c * 0.36));
    return { ...base, arrangement: 'details-right', table: { w: c - detailsW, h: bodyH }, details: { w: detailsW, h: bodyH }, console: null, log: null };
  }
  if (bodyH >= 14) {
    const detailsH = Math.min(bodyH >= 30 ? 14 : 10, Math.floor(bodyH * 0.4));
    return {
      ...base,
      arrangement: 'details-below',
      table: { w: c, h: bodyH - detailsH },
      details: { w: c, h: detailsH },
      console: null,
      log: null,
    };
  }
  return { ...base, arrangement: 'table-only', table: { w: c, h: bodyH }, details: null, console: null, log: null };
}

/** Rows of VMs the table can show in a pane of height h (borders and the column header take 3). */
export function tableRows(h: number): number {
  return Math.max(h - 3, 1);
}

/** The first row to render so that `selected` stays in view, moving the window as little as possible. */
export function scrollOffset(prev: number, selected: number, visible: number, total: number): number {
  if (total <= visible) return 0;
  let off = Math.min(Math.max(prev, 0), total - visible);
  if (selected < off) off = selected;
  else if (selected >= off + visible) off = selected - visible + 1;
  return Math.max(0, off);
}
