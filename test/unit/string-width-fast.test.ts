import { eastAsianWidth } from 'get-east-asian-width';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { plainSegments, plainWidth } from '../../scripts/stubs/string-width-fast.js';

type Width = (text: string, options?: object) => number;
const root = path.resolve(import.meta.dirname, '../..');
// The older string-width that wrap-ansi (in Ink) carries: the bundle wraps it too.
const wrapAnsiWidth = (await import(pathToFileURL(path.join(root, 'node_modules/wrap-ansi/node_modules/string-width/index.js')).href)).default as Width;
const fast = (text: string, options?: object): number => plainWidth(text, options, (c) => eastAsianWidth(c));

const RANGES: [number, number][] = [
  [0x20, 0x7e],
  [0xa0, 0x2ff],
  [0x370, 0x482],
  [0x2010, 0x2027],
  [0x2030, 0x205e],
  [0x2070, 0x20cf],
  [0x2100, 0x2bff],
];
const answered: string[] = [];
for (const [from, to] of RANGES) for (let c = from; c <= to; c++) if (fast(String.fromCharCode(c)) >= 0) answered.push(String.fromCharCode(c));

describe('plainWidth (the bundle fast path of string-width)', () => {
  it('answers most characters of its ranges, each exactly as both string-width versions do', () => {
    expect(answered.length).toBeGreaterThan(3_500);
    const wrong = answered.filter((ch) => fast(ch) !== stringWidth(ch) || fast(ch) !== wrapAnsiWidth(ch));
    expect(wrong.map((ch) => ch.charCodeAt(0).toString(16))).toEqual([]);
  });

  it('agrees with string-width on mixed text: the TUI frame characters, wide CJK-like symbols and random mixes', () => {
    const samples = ['●·⏎╭─╮│↑○…╰╯', ' bento  ● bentod  20 VMs · 20 stopped', '│>vm00             ○ stopped  ', 'αβγ ЖЗИ ‰ € ⅓ ⇄ ⌘ ⓐ ■ ☐ ✓ ⬛'];
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 3000; i++) samples.push(Array.from({ length: 1 + (next() % 16) }, () => answered[next() % answered.length]).join(''));
    for (const s of samples) {
      if (fast(s) < 0) continue;
      expect([s, fast(s)]).toEqual([s, stringWidth(s)]);
      expect([s, fast(s)]).toEqual([s, wrapAnsiWidth(s)]);
    }
    // The TUI's own frame, and every mix of answered characters, take the fast path.
    expect(samples.filter((s, i) => i !== 3 && fast(s) < 0)).toEqual([]);
  });

  it('leaves to string-width whatever needs segmenting, stripping or its options', () => {
    for (const s of ['\u001b[31mred\u001b[39m', 'e\u0301', '👍', 'a\u200db', '\u00ad', '©', '↔', '한글', 'x\ty', 'ﾞ', '\ud83d']) expect([s, fast(s)]).toEqual([s, -1]);
    expect(fast('abc', { ambiguousIsNarrow: false })).toBe(-1);
    expect(fast('abc', { countAnsiEscapeCodes: true })).toBe(-1);
    expect(fast('')).toBe(0);
    expect(plainWidth(undefined, undefined, () => 1)).toBe(0);
  });

  it('splits plain text (escape sequences included) into the same graphemes as Intl.Segmenter, and leaves the rest to it', () => {
    const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
    const real = (s: string) => [...segmenter.segment(s)].map(({ segment, index }) => ({ segment, index }));
    let seed = 11;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const samples = ['\u001b[1m\u001b[36m VMs \u001b[39m\u001b[22m ╭─ │>vm00 ○ stopped … ·', ''];
    for (let i = 0; i < 2000; i++) {
      samples.push(Array.from({ length: 1 + (next() % 24) }, () => (next() % 5 === 0 ? `\u001b[${next() % 100}m` : answered[next() % answered.length])).join(''));
    }
    for (const s of samples) expect([s, plainSegments(s)]).toEqual([s, real(s)]);
    for (const s of ['e\u0301', '👍', 'a\r\nb', 'a\u200db', '\u009b31m', '한']) expect([s, plainSegments(s)]).toEqual([s, null]);
  });
});
