import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { vmFiles } from './paths.js';
import { SerialLogWriter } from './serial-log-writer.js';
import { bootSegments, readLogIndex, scrollbackStart } from './serial-log.js';

function home(): ReturnType<typeof vmFiles> {
  return vmFiles(fs.mkdtempSync(path.join(os.tmpdir(), 'slog-')));
}

function read(segs: { file: string; start: number; end: number | null }[] | null): string {
  if (!segs) return '<gone>';
  return segs
    .map((s) => {
      if (!fs.existsSync(s.file)) return '';
      const b = fs.readFileSync(s.file);
      return b.subarray(s.start, s.end ?? b.length).toString();
    })
    .join('');
}

const T = new Date('2026-11-30T05:00:00.000Z');

describe('the serial log: boot records, rotation and what readers get', () => {
  it('starts each boot on a line of its own with a separator record and an index entry', () => {
    const f = home();
    const w1 = new SerialLogWriter(f, 1 << 20, T);
    w1.write(Buffer.from('first boot\r\n# half a line'));
    w1.close();
    const w2 = new SerialLogWriter(f, 1 << 20, T);
    w2.write(Buffer.from('second\r\n'));
    w2.close();
    expect(fs.readFileSync(f.serialLog, 'utf8')).toBe(
      '-- bento: boot 1, 2026-11-30T05:00:00Z --\r\nfirst boot\r\n# half a line\r\n-- bento: boot 2, 2026-11-30T05:00:00Z --\r\nsecond\r\n',
    );
    expect(readLogIndex(f)?.boots.map((b) => [b.boot, b.offset])).toEqual([[1, 0], [2, 70]]);
    expect(read(bootSegments(f, { kind: 'current' }))).toBe('-- bento: boot 2, 2026-11-30T05:00:00Z --\r\nsecond\r\n');
    expect(read(bootSegments(f, { kind: 'back', n: 1 }))).toBe('-- bento: boot 1, 2026-11-30T05:00:00Z --\r\nfirst boot\r\n# half a line\r\n');
    expect(bootSegments(f, { kind: 'back', n: 2 })).toBeNull();
    // A viewer's scrollback never reaches into boot 1, however much it asks for.
    expect(scrollbackStart(f, 1 << 20)).toEqual({ file: f.serialLog, offset: 70 });
    // A small scrollback starts at a line start, not mid-line.
    expect(scrollbackStart(f, 5)).toEqual({ file: f.serialLog, offset: fs.statSync(f.serialLog).size });
  });

  it('rotates at a line end past the cap, keeps two generations, and readers see every byte once', () => {
    const f = home();
    const w = new SerialLogWriter(f, 4096, T);
    let all = '-- bento: boot 1, 2026-11-30T05:00:00Z --\r\n';
    for (let i = 0; i < 3000; i++) {
      const line = `line ${i}\n`;
      all += line;
      w.write(Buffer.from(line));
    }
    w.close();
    const index = readLogIndex(f)!;
    expect(index.generation).toBeGreaterThan(5);
    // Every rotated file ended on a line end.
    expect(fs.readFileSync(f.serialLogOld, 'utf8').endsWith('\n')).toBe(true);
    const kept = fs.readFileSync(f.serialLogOld, 'utf8') + fs.readFileSync(f.serialLog, 'utf8');
    expect(all.endsWith(kept)).toBe(true);
    // The boot began generations ago: `logs` shows what is kept of it, `--all` the same two files.
    expect(read(bootSegments(f, { kind: 'current' }))).toBe(kept);
    expect(read(bootSegments(f, { kind: 'all' }))).toBe(kept);
  });

  it('refuses a serial.log that is a symlink and leaves its target alone', () => {
    const f = home();
    const target = `${f.serialLog}.target`;
    fs.writeFileSync(target, 'untouched');
    fs.symlinkSync(target, f.serialLog);
    expect(() => new SerialLogWriter(f, 4096, T)).toThrow(/ELOOP/);
    expect(fs.readFileSync(target, 'utf8')).toBe('untouched');
  });
});
