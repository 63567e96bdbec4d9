import { expect, test } from 'vitest';
import { createLogBuffer } from './log-buffer.js';
import { cleanText, fit, fitStart, wrapWords, printable, printableLines } from './text.js';

test('cleanText strips every escape and control, including OSC 52 and C1', () => {
  expect(cleanText('a\x1b]52;c;ZXZpbA==\x07b')).toBe('ab');
  expect(cleanText('\x1b[31mred\x1b[0m \x1b[6n')).toBe('red ');
  expect(cleanText('x\x1b]0;title\x1b\\y')).toBe('xy');
  expect(cleanText('\x9b31mz\x07\x00')).toBe('31mz');
  expect(cleanText('a\tb')).toBe('a       b');
});

test('fit pads and cuts with an ellipsis; fitStart keeps the end', () => {
  expect(fit('abc', 5)).toBe('abc  ');
  expect(fit('abcdef', 4)).toBe('abc…');
  expect(fitStart('/a/b/c/disk.qcow2', 10)).toBe('…isk.qcow2');
});

test('wrapWords wraps at spaces without leading blanks', () => {
  expect(wrapWords('one two three four', 9)).toEqual(['one two', 'three', 'four']);
  expect(wrapWords('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
});

test('the log buffer cleans lines, keeps the last ones, and handles CR and split UTF-8', () => {
  const b = createLogBuffer(3);
  b.push('one\r\ntwo\n');
  b.push(Buffer.from('thr'));
  expect(b.lines()).toEqual(['one', 'two', 'thr']);
  b.push('ee\n10%\r50%\r100%\n\x1b]52;c;x\x07evil\n');
  expect(b.lines()).toEqual(['three', '100%', 'evil']);
  const euro = Buffer.from('€\n');
  b.push(euro.subarray(0, 1));
  b.push(euro.subarray(1));
  expect(b.lines().at(-1)).toBe('€');
  expect(b.dropped()).toBeGreaterThan(0);
});

test('printable turns every control character of a label into U+FFFD, C1 included, and leaves the rest', () => {
  // libvirt accepts U+009B (CSI on terminals that act on 8-bit C1) and tabs in a domain name.
  expect(printable('ev\u009b2Jil\tx')).toBe('ev\ufffd2Jil\ufffdx');
  expect(printable('a\x1b]0;t\x07b\x7f\u0085')).toBe('a\ufffd]0;t\ufffdb\ufffd\ufffd');
  expect(printable('lab1/wéb-ü €')).toBe('lab1/wéb-ü €');
  expect(printableLines('one\u009b\ntwo')).toBe('one\ufffd\ntwo');
});
