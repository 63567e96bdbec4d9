import { describe, expect, it } from 'vitest';
import { parseEscapeKey } from './escape-key.js';

describe('parseEscapeKey', () => {
  it('maps ^] and friends to their control bytes', () => {
    expect(parseEscapeKey('^]')).toBe(0x1d);
    expect(parseEscapeKey('^a')).toBe(0x01);
    expect(parseEscapeKey('^A')).toBe(0x01);
    expect(parseEscapeKey('^@')).toBe(0x00);
    expect(parseEscapeKey('^_')).toBe(0x1f);
    expect(parseEscapeKey('^\\')).toBe(0x1c);
  });
  it.each(['', ']', '^', '^1', '^]]', 'ctrl-]', '^ '])('refuses %j with the rule', (bad) => {
    expect(() => parseEscapeKey(bad)).toThrow(/must be \^ followed by one of/);
  });
});
