import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { confHostsStore } from './hosts-store.js';
import { loadPreferences } from './prefs.js';
import { quickPreferences } from './prefs-quick.js';

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-hosts-store-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));
const file = (): string => path.join(home, 'preferences.json');

test('hosts are kept in preferences.json beside the escape key, which keeps working', () => {
  fs.writeFileSync(file(), JSON.stringify({ escapeKey: '^a' }));
  const store = confHostsStore(home);
  expect(store.list()).toEqual([]);
  store.add({ name: 'lab1', uri: 'qemu+tcp://10.0.0.1/system' });
  store.add({ name: 'lab2', uri: 'test:///default' });
  // Another store (a restarted bentod) reads what the first wrote.
  expect(confHostsStore(home).list().map((h) => h.name)).toEqual(['lab1', 'lab2']);
  expect(JSON.parse(fs.readFileSync(file(), 'utf8'))).toEqual({
    escapeKey: '^a',
    hosts: [
      { name: 'lab1', uri: 'qemu+tcp://10.0.0.1/system' },
      { name: 'lab2', uri: 'test:///default' },
    ],
  });
  expect(fs.statSync(file()).mode & 0o777).toBe(0o600);
  expect(loadPreferences(home)).toMatchObject({ escapeKey: '^a' });
  // The TUI's fast path still reads the escape key without conf.
  expect(quickPreferences(home)).toEqual({ escapeKey: '^a' });
  store.remove('lab1');
  expect(store.list()).toEqual([{ name: 'lab2', uri: 'test:///default' }]);
});

test('a hand-edited hosts value that is not a list reads as none, and the fast path leaves it to conf', () => {
  fs.writeFileSync(file(), JSON.stringify({ escapeKey: '^]', hosts: 'lab1' }));
  expect(confHostsStore(home).list()).toEqual([]);
  expect(quickPreferences(home)).toBeNull();
});
