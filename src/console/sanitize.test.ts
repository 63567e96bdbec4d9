import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pty from 'node-pty';
import { describe, expect, it } from 'vitest';
import { BENIGN_CASES, HOSTILE_CASES } from './hostile-corpus.js';
import { TERMINAL_RESTORE } from './sanitize-policy.js';
import { createSanitizer, sanitize } from './sanitize.js';

/** Mulberry32: a tiny seeded PRNG so a failing split is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function runChunks(chunks: Buffer[]): Buffer {
  const s = createSanitizer();
  return Buffer.concat([...chunks.map((c) => s.push(c)), s.flush()]);
}

function splitAt(input: Buffer, cuts: number[]): Buffer[] {
  const sorted = [...cuts].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const c of sorted) {
    parts.push(input.subarray(from, c));
    from = c;
  }
  parts.push(input.subarray(from));
  return parts;
}

const PRIVATE_OK = new Set([1, 5, 6, 7, 12, 25, 47, 66, 1047, 1048, 1049, 2004, 2026]);

/**
 * An oracle written apart from the parser: the output must be valid UTF-8 without C1 code points,
 * and once every allowlisted sequence is cut out, no ESC and no unexpected control may remain.
 */
/* eslint-disable no-control-regex -- the oracle matches terminal control bytes on purpose */
function assertSafe(out: Buffer): void {
  const text = new TextDecoder('utf-8', { fatal: true }).decode(out);
  expect(text).not.toMatch(/[\u0080-\u009f]/);
  const rest = text
    .replace(/\x1b\[[0-9;:]*m/g, '')
    .replace(/\x1b\[(\d*)[@A-GILMPSTXZ`abde]/g, '')
    .replace(/\x1b\[(\d*;?\d*)[Hfr]/g, '')
    .replace(/\x1b\[[012]?[JK]/g, '')
    .replace(/\x1b\[[su]/g, '')
    .replace(/\x1b\[[0-6]? q/g, '')
    .replace(/\x1b\[4[hl]/g, '')
    .replace(/\x1b\[\?([0-9;]+)[hl]/g, (all, list: string) =>
      list.split(';').every((p) => PRIVATE_OK.has(Number(p))) ? '' : all,
    )
    .replace(/\x1b[78=>DEM]/g, '')
    .replace(/\x1b[()][B0A]/g, '');
  expect(rest).not.toContain('\x1b');
  expect(rest).not.toMatch(/[\x00-\x06\x0b\x0c\x10-\x1f\x7f]/);
}
/* eslint-enable no-control-regex */

describe('sanitize: hostile corpus', () => {
  for (const c of HOSTILE_CASES) {
    it(`strips ${c.name}`, () => {
      const out = sanitize(c.input);
      for (const bad of c.mustNotContain) expect(out.includes(bad), `output contains ${JSON.stringify(bad.toString('latin1'))}`).toBe(false);
      if (c.expected) expect(out.toString('latin1')).toBe(c.expected.toString('latin1'));
      assertSafe(out);
    });
    it(`strips ${c.name} split at every byte position`, () => {
      const whole = sanitize(c.input);
      // Floods are long: cut them at a sample of positions, including every one near the ends.
      const step = c.input.length > 2048 ? Math.ceil(c.input.length / 512) : 1;
      for (let cut = 0; cut <= c.input.length; cut += cut < 64 || cut > c.input.length - 64 ? 1 : step) {
        expect(runChunks(splitAt(c.input, [cut])).equals(whole), `cut at ${cut}`).toBe(true);
      }
      if (c.input.length <= 2048) {
        const bytes = [...c.input].map((x) => Buffer.from([x]));
        expect(runChunks(bytes).equals(whole), 'byte by byte').toBe(true);
      }
    });
  }
});

describe('sanitize: benign corpus', () => {
  for (const c of BENIGN_CASES) {
    it(`passes ${c.name} byte-identical, whole and split anywhere`, () => {
      expect(sanitize(c.input).toString('latin1')).toBe(c.input.toString('latin1'));
      for (let cut = 0; cut <= c.input.length; cut++) expect(runChunks(splitAt(c.input, [cut])).equals(c.input)).toBe(true);
      expect(runChunks([...c.input].map((x) => Buffer.from([x]))).equals(c.input)).toBe(true);
    });
  }
  it('passes TERMINAL_RESTORE unchanged (it uses only allowed sequences)', () => {
    expect(sanitize(TERMINAL_RESTORE).equals(TERMINAL_RESTORE)).toBe(true);
  });
});

describe('sanitize: streaming properties', () => {
  const corpus = Buffer.concat([...BENIGN_CASES.map((c) => c.input), ...HOSTILE_CASES.map((c) => c.input), ...BENIGN_CASES.map((c) => c.input)]);

  it('gives the same output for random splits of the whole corpus as for the unsplit corpus', () => {
    const whole = sanitize(corpus);
    assertSafe(whole);
    const next = rng(42);
    for (let round = 0; round < 150; round++) {
      const cuts = Array.from({ length: 1 + Math.floor(next() * 300) }, () => Math.floor(next() * corpus.length));
      expect(runChunks(splitAt(corpus, cuts)).equals(whole), `round ${round}`).toBe(true);
    }
  });

  it('stays safe and split-invariant on random escape-heavy noise', () => {
    const alphabet = Buffer.from('\x1b\x1b\x1b[[]]P^_X\\?;;:0123456789mhlHJKnctq $!>=<\x07\x18\x1a\x9b\x9c\x9d\x90\xc2\xc2\xe2\x80\xa0 abc\r\n', 'latin1');
    const next = rng(7);
    for (let round = 0; round < 200; round++) {
      const input = Buffer.from(Array.from({ length: 400 }, () => alphabet[Math.floor(next() * alphabet.length)]!));
      const whole = sanitize(input);
      assertSafe(whole);
      const cuts = Array.from({ length: 1 + Math.floor(next() * 40) }, () => Math.floor(next() * input.length));
      expect(runChunks(splitAt(input, cuts)).equals(whole)).toBe(true);
    }
  });

  it('keeps memory bounded under a parameter flood and a string flood', () => {
    const s = createSanitizer({ maxSequenceBytes: 64 });
    expect(s.push(Buffer.from('\x1b[')).length).toBe(0);
    const params = Buffer.from('1;'.repeat(32 * 1024));
    for (let k = 0; k < 160; k++) {
      expect(s.push(params).length).toBe(0);
      expect(s.stats().buffered).toBeLessThanOrEqual(64);
    }
    expect(s.push(Buffer.from('mok')).toString()).toBe('ok');
    expect(s.stats().dropped.overflow).toBe(1);
    expect(s.push(Buffer.from('\x1b]52;c;')).length).toBe(0);
    const payload = Buffer.alloc(64 * 1024, 'A');
    for (let k = 0; k < 160; k++) {
      expect(s.push(payload).length).toBe(0);
      expect(s.stats().buffered).toBeLessThanOrEqual(64);
    }
    expect(s.push(Buffer.from('\x07done')).toString()).toBe('done');
  });

  it('holds a UTF-8 character split over several chunks and emits it whole', () => {
    const s = createSanitizer();
    const emoji = Buffer.from('🎉', 'utf8');
    expect(s.push(emoji.subarray(0, 1)).length).toBe(0);
    expect(s.push(emoji.subarray(1, 2)).length).toBe(0);
    expect(s.push(emoji.subarray(2, 3)).length).toBe(0);
    expect(s.push(Buffer.concat([emoji.subarray(3), Buffer.from('!')])).toString()).toBe('🎉!');
  });

  it('flush turns a partial character into U+FFFD and drops an unfinished sequence', () => {
    const s = createSanitizer();
    expect(s.push(Buffer.from([0x61, 0xe2, 0x82])).toString()).toBe('a');
    expect(s.flush().toString()).toBe('\ufffd');
    expect(s.push(Buffer.from('b\x1b[31')).toString()).toBe('b');
    expect(s.flush().length).toBe(0);
    expect(s.push(Buffer.from('c')).toString()).toBe('c');
  });

  it('counts what it drops by kind', () => {
    const s = createSanitizer();
    // \xc2\x9b is a UTF-8 encoded C1 CSI (dropped with its sequence); raw \x9b and \xff are invalid UTF-8.
    s.push(Buffer.from('\x1b]0;t\x07\x1bP$q\x1b\\\x1b[6n\x1bc\x05\xc2\x9b1m\x9b\xff', 'latin1'));
    expect(s.stats().dropped).toMatchObject({ osc: 1, dcs: 1, csi: 1, esc: 1, c0: 1, c1: 1, utf8: 2 });
  });

  it('rejects a silly sequence bound with a BentoError', () => {
    expect(() => createSanitizer({ maxSequenceBytes: 2 })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
  });
});

describe('sanitize: real full-screen programs', () => {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));

  function capture(args: string[], keys: string[]): Promise<Buffer> {
    return new Promise((resolve) => {
      const p = pty.spawn(busybox!, args, { cols: 80, rows: 24, env: { ...process.env, TERM: 'xterm-256color' }, encoding: null });
      const chunks: Buffer[] = [];
      p.onData((d) => chunks.push(Buffer.from(d as unknown as Uint8Array)));
      keys.forEach((k, i) => setTimeout(() => p.write(k), 300 * (i + 1)));
      const kill = setTimeout(() => p.kill(), 300 * (keys.length + 3));
      p.onExit(() => {
        clearTimeout(kill);
        resolve(Buffer.concat(chunks));
      });
    });
  }

  it('passes busybox vi, less and top output byte-identical', async () => {
    if (!busybox) throw new Error('busybox is missing: apt-get install busybox-static (scripts/setup.sh does)');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bento-sanitize-')), 'file.txt');
    fs.writeFileSync(file, 'hello world\nsecond line\n\tindented ünïcödé\n');
    const vi = await capture(['vi', file], ['jx', 'Oadded', '\x1b', ':q!\r']);
    const less = await capture(['less', file], ['j', 'q']);
    const top = await capture(['top', '-n', '1'], []);
    for (const out of [vi, less, top]) {
      expect(out.length).toBeGreaterThan(100);
      expect(sanitize(out).toString('latin1')).toBe(out.toString('latin1'));
    }
  });
});
