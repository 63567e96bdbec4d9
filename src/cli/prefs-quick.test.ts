import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadPreferences } from './prefs.js';
import { quickPreferences } from './prefs-quick.js';

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-prefs-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));
const write = (text: string): void => fs.writeFileSync(path.join(home, 'preferences.json'), text);

describe('quickPreferences', () => {
  it('reads the file conf writes, with the same answer as loadPreferences', () => {
    expect(quickPreferences(home)).toBeNull(); // no file yet: conf's path creates it
    const viaConf = loadPreferences(home);
    expect(quickPreferences(home)).toEqual(viaConf);
    write('{\n\t"escapeKey": "^a"\n}');
    expect(quickPreferences(home)).toEqual({ escapeKey: '^a' });
    expect(loadPreferences(home)).toEqual({ escapeKey: '^a' });
  });

  it('leaves anything else to conf (which reports bad values by name)', () => {
    for (const text of ['{"escapeKey": "ctrl-a"}', '{"escapeKey": 7}', '{"escapeKey": "^]", "theme": "dark"}', '{}', '[]', 'null', '"^]"', '{"escapeKey": "^]"', '']) {
      write(text);
      expect([text, quickPreferences(home)]).toEqual([text, null]);
    }
    write('{"escapeKey": "ctrl-a"}');
    expect(() => loadPreferences(home)).toThrow(/escapeKey/);
  });
});
