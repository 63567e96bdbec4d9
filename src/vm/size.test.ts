import { describe, expect, it } from 'vitest';
import { formatMiB, parseSizeMiB } from './size.js';

describe('parseSizeMiB', () => {
  it.each([
    ['512M', 512],
    ['512m', 512],
    ['2G', 2048],
    ['2GiB', 2048],
    ['2GB', 2048],
    ['1.5G', 1536],
    ['1T', 1048576],
    ['1024K', 1],
    ['256', 256],
    [256, 256],
    ['0', 0],
  ])('%s -> %d MiB', (input, want) => {
    expect(parseSizeMiB(input)).toBe(want);
  });

  it.each(['1.5.G', '', 'G', '-1G', '12Q', '1 G B', '0.3M', '1e3M', 'abc', '1.G'])('rejects %j', (input) => {
    expect(parseSizeMiB(input)).toBeNull();
  });

  it.each([1.5, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the number %d', (n) => {
    expect(parseSizeMiB(n)).toBeNull();
  });
});

describe('formatMiB', () => {
  it('prints whole GiB, tenths, and MiB', () => {
    expect(formatMiB(512)).toBe('512M');
    expect(formatMiB(2048)).toBe('2G');
    expect(formatMiB(1536)).toBe('1.5G');
  });
});
