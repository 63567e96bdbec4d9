import { expect, test } from 'vitest';
import { computeLayout, scrollOffset, tableRows } from './layout.js';

test('80x24 without a console: table above a short details pane, frame one line short', () => {
  const l = computeLayout(80, 24, { console: null, log: null });
  expect(l.arrangement).toBe('details-below');
  expect(l.bodyH).toBe(20);
  expect(l.table!.h + l.details!.h).toBe(20);
  expect(l.table!.w).toBe(80);
});

test('wide terminals put the details beside the table', () => {
  const l = computeLayout(140, 40, { console: null, log: null });
  expect(l.arrangement).toBe('details-right');
  expect(l.table!.w + l.details!.w).toBe(140);
});

test('the console splits below, fills the screen, or goes beside on very wide terminals', () => {
  expect(computeLayout(100, 30, { console: { full: false }, log: null }).arrangement).toBe('console-below');
  const full = computeLayout(100, 30, { console: { full: true }, log: null });
  expect(full.arrangement).toBe('console-full');
  expect(full.table).toBeNull();
  expect(full.console).toEqual({ w: 100, h: 26 });
  expect(computeLayout(200, 50, { console: { full: false }, log: null }).arrangement).toBe('console-right');
  // A terminal too short to split gives the console the whole body.
  expect(computeLayout(50, 12, { console: { full: false }, log: null, focus: 'console' }).arrangement).toBe('console-full');
  expect(computeLayout(50, 12, { console: { full: false }, log: null, focus: 'table' }).arrangement).toBe('table-only');
});

test('the window follows the selection, moving as little as possible', () => {
  expect(tableRows(10)).toBe(7);
  expect(scrollOffset(0, 3, 7, 1000)).toBe(0);
  expect(scrollOffset(0, 9, 7, 1000)).toBe(3);
  expect(scrollOffset(3, 5, 7, 1000)).toBe(3);
  expect(scrollOffset(3, 1, 7, 1000)).toBe(1);
  expect(scrollOffset(500, 999, 7, 1000)).toBe(993);
  expect(scrollOffset(10, 2, 7, 5)).toBe(0);
});
