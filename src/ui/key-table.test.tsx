// Tests generated from the table's key list: every key in the help does something in the real App,
// every key the dispatcher takes is in the help, the hint bar comes from the same list.
import type { Key } from 'ink';
import { afterEach, describe, expect, test } from 'vitest';
import { fakeVm } from './fake-client.js';
import { dispatchTableKey, TABLE_KEYS, type TableCommands } from './key-table.js';
import { helpSections, TABLE_HINTS } from './keys.js';
import { renderApp, settle, type Harness } from './test/render-app.js';

let h: Harness | undefined;
afterEach(() => h?.unmount());

/** What a terminal sends for each key name. */
const RAW: Record<string, string> = {
  up: '\x1b[A',
  down: '\x1b[B',
  pageup: '\x1b[5~',
  pagedown: '\x1b[6~',
  home: '\x1b[H',
  end: '\x1b[F',
  escape: '\x1b',
  enter: '\r',
  tab: '\t',
  space: ' ',
};
const raw = (name: string): string => RAW[name] ?? (name.startsWith('ctrl-') ? String.fromCharCode(name.charCodeAt(5) - 96) : name);

/** Keys that only show an effect after something else: Esc clears marks, x/Tab/f need a console pane. */
const PREP: Record<string, string[]> = { escape: [' '], x: ['\r'], tab: ['\r'], f: ['\r'] };

/** Every key name of the table, with the label its help line shows. */
const ALL = TABLE_KEYS.flatMap((b) => b.keys.map((k) => [k, b.label] as const));

describe('every key listed in the help does something in the App', () => {
  test.each(ALL)('%s (help: %s)', async (name) => {
    // Three stopped VMs, the cursor in the middle: every key moves, acts, opens or says why not.
    h = await renderApp([fakeVm('a'), fakeVm('b'), fakeVm('c')], { rows: 40 });
    await h.press('j');
    for (const k of PREP[name] ?? []) await h.press(k);
    const before = h.frame();
    const calls = h.client.calls.length;
    await h.press(raw(name));
    const end = Date.now() + 1000;
    const did = (): boolean => h!.frame() !== before || h!.client.calls.length > calls || h!.onQuit.mock.calls.length > 0 || h!.onHandOver.mock.calls.length > 0;
    while (!did() && Date.now() < end) await settle(10);
    expect(did()).toBe(true);
  });
});

/** A TableCommands that records which command ran. */
function recorder(): { c: TableCommands; ran: string[] } {
  const ran: string[] = [];
  const c = new Proxy({} as TableCommands, { get: (_t, p) => () => void ran.push(String(p)) });
  return { c, ran };
}
const NO_KEY: Key = { upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false } as Key;

describe('every key the dispatcher takes is listed in the help', () => {
  const helpText = helpSections('Ctrl-]')
    .flatMap((s) => s.keys)
    .filter((k) => !k.pane);
  const labels = new Set(helpText.map((k) => k.keys));
  const specials: [string, Partial<Key>][] = [
    ['up', { upArrow: true }],
    ['down', { downArrow: true }],
    ['pageup', { pageUp: true }],
    ['pagedown', { pageDown: true }],
    ['home', { home: true }],
    ['end', { end: true }],
    ['escape', { escape: true }],
    ['enter', { return: true }],
    ['tab', { tab: true }],
  ];
  const inputs: [string, string, Partial<Key>][] = [
    ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).map((ch) => [ch === ' ' ? 'space' : ch, ch, {}] as [string, string, Partial<Key>]),
    ...'abcdefghijklmnopqrstuvwxyz'.split('').map((ch) => [`ctrl-${ch}`, ch, { ctrl: true }] as [string, string, Partial<Key>]),
    ...specials.map(([n, k]) => [n, '', k] as [string, string, Partial<Key>]),
  ];
  test.each(inputs)('%s', (name, input, key) => {
    const { c, ran } = recorder();
    dispatchTableKey(c, input, { ...NO_KEY, ...key });
    const binding = TABLE_KEYS.find((b) => b.keys.includes(name));
    if (!ran.length) return expect(binding).toBeUndefined();
    expect(binding, `${name} runs ${ran.join()} but no binding lists it`).toBeDefined();
    expect(labels.has(binding!.label)).toBe(true);
  });

  test('the hint bar shows only keys of the table, the action keys first', () => {
    for (const hint of TABLE_HINTS) expect(TABLE_KEYS.some((b) => b.hint === hint.what)).toBe(true);
    expect(TABLE_HINTS.map((x) => x.keys).slice(0, 9)).toEqual(['s', 'S', 'K', 'p', 'r', 'z', '⏎', 'a', 'h']);
    expect(TABLE_HINTS).toHaveLength(TABLE_KEYS.filter((b) => b.hint).length);
  });

  test('no key is bound twice', () => {
    const names = TABLE_KEYS.flatMap((b) => b.keys);
    expect(new Set(names).size).toBe(names.length);
  });
});
