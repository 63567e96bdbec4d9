import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRuntime, rotateLogIfLarge, writeRuntime } from './runtime.js';

describe('runtime files', () => {
  it('writes state.json atomically with mode 0600 and reads it back; garbage reads as null', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rt-'));
    const file = path.join(dir, 'state.json');
    writeRuntime(file, { pid: 42, startTime: '123', startedAt: '2026-01-01T00:00:00.000Z', accel: 'tcg', reason: null, logOffset: 7 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readRuntime(file)).toMatchObject({ pid: 42, logOffset: 7 });
    fs.writeFileSync(file, '{"pid": "nope"');
    expect(readRuntime(file)).toBeNull();
    expect(fs.readdirSync(dir)).toEqual(['state.json']);
  });

  it('rotates a serial log only when it is over the cap, keeping one generation', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rt-'));
    const log = path.join(dir, 'serial.log');
    expect(rotateLogIfLarge(log, 10)).toBe(false);
    fs.writeFileSync(log, 'short');
    expect(rotateLogIfLarge(log, 10)).toBe(false);
    fs.writeFileSync(log, 'first generation');
    expect(rotateLogIfLarge(log, 10)).toBe(true);
    fs.writeFileSync(log, 'second generation');
    expect(rotateLogIfLarge(log, 10)).toBe(true);
    expect(fs.existsSync(log)).toBe(false);
    expect(fs.readFileSync(`${log}.1`, 'utf8')).toBe('second generation');
  });
});
