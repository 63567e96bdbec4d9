import { expect, test } from 'vitest';
import { editLine } from './line-edit.js';
import { KeyRouter, firstKey } from './key-router.js';
import { splitKeys } from './split-keys.js';

test('keys read together are split back into keys', () => {
  expect(splitKeys('jjk', true).map((k) => k.input)).toEqual(['j', 'j', 'k']);
  const mixed = splitKeys('web\rs');
  expect(mixed.map((k) => [k.input, k.key.return])).toEqual([
    ['web', false],
    ['', true],
    ['s', false],
  ]);
  expect(mixed.map((k) => k.raw).join('')).toBe('web\rs');
  expect(splitKeys('s', true)[0]!.key.shift).toBe(false);
  expect(splitKeys('aS', true)[1]!.key.shift).toBe(true);
  expect(splitKeys('\x15')[0]!.key).toMatchObject({ ctrl: true });
});

test('escape sequences become keys', () => {
  expect(firstKey('\x1b[A', true).key.upArrow).toBe(true);
  expect(firstKey('\x1bOB', true).key.downArrow).toBe(true);
  expect(firstKey('\x1b[6~', true).key.pageDown).toBe(true);
  expect(firstKey('\x1b[5;2~', true).key).toMatchObject({ pageUp: true, shift: true });
  expect(firstKey('\x1b[Z', true).key).toMatchObject({ tab: true, shift: true });
  expect(firstKey('\x1b', true).key.escape).toBe(true);
  expect(firstKey('\x1bx', true)).toMatchObject({ input: 'x', key: { meta: true } });
  expect(firstKey('ab\x1b[A', true)).toMatchObject({ input: 'a', raw: 'a' });
});

test('the router gives each key to the pane that has the focus after the previous key', async () => {
  const router = new KeyRouter(5);
  const log: string[] = [];
  const table = router.open();
  const filter = router.open();
  const claimTable = (active: boolean): void =>
    router.update(table, {
      active,
      perChar: true,
      handler: (i) => {
        log.push(`table:${i}`);
        if (i === '/') {
          claimTable(false);
          router.update(filter, { active: true, handler: filterHandler });
          return true;
        }
      },
    });
  const filterHandler = (i: string, k: { return?: boolean }): boolean | void => {
    log.push(`filter:${k.return ? 'Enter' : i}`);
    if (k.return) {
      router.update(filter, { active: false, handler: filterHandler });
      claimTable(true);
      return true;
    }
  };
  claimTable(true);
  router.push('j/web\rs');
  await new Promise((r) => setTimeout(r, 30));
  expect(log).toEqual(['table:j', 'table:/', 'filter:web', 'filter:Enter', 'table:s']);
});

test('line editing', () => {
  const s = { text: 'hello world', cursor: 11 };
  expect(editLine(s, 'w', { ctrl: true })).toEqual({ text: 'hello ', cursor: 6 });
  expect(editLine(s, 'u', { ctrl: true })).toEqual({ text: '', cursor: 0 });
  expect(editLine({ text: 'ab', cursor: 1 }, '', { delete: true })).toEqual({ text: 'b', cursor: 0 });
  expect(editLine({ text: 'ab', cursor: 1 }, 'X\n', {})).toEqual({ text: 'aXb', cursor: 2 });
  expect(editLine(s, '', { return: true })).toBeNull();
});
