import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRuntime, writeRuntime } from './runtime.js';

describe('runtime files', () => {
  it('writes state.json atomically with mode 0600 and reads it back; garbage reads as null', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rt-'));
    const file = path.join(dir, 'state.json');
    writeRuntime(file, { pid: 42, startTime: '123', startedAt: '2026-01-01T00:00:00.000Z', accel: 'tcg', reason: null, logOffset: 7, sshPort: null });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readRuntime(file)).toMatchObject({ pid: 42, logOffset: 7 });
    fs.writeFileSync(file, '{"pid": "nope"');
    expect(readRuntime(file)).toBeNull();
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
  });
});
