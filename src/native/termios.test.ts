import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tty from 'node:tty';
import pty from 'node-pty';
import { afterEach, describe, expect, it } from 'vitest';
import { loadNative, nativeCandidatePaths, type TermiosSnapshot } from './native.js';
import { enterRaw, saveTerminal } from './termios.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

/** A fresh pseudo-terminal: node-pty holds the master (a sleeping child on it), we open the slave. */
function ptyPair(): { slave: number; name: string; output: () => string; waitFor: (s: string) => Promise<void> } {
  const p = pty.spawn('sleep', ['60'], { cols: 80, rows: 24, encoding: null });
  cleanups.push(() => p.kill('SIGKILL'));
  const name = (p as unknown as { ptsName: string }).ptsName;
  const slave = fs.openSync(name, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
  cleanups.push(() => fs.closeSync(slave));
  const chunks: Buffer[] = [];
  p.onData((d) => chunks.push(Buffer.from(d as unknown as Buffer)));
  const output = (): string => Buffer.concat(chunks).toString('latin1');
  const waitFor = async (s: string): Promise<void> => {
    for (let i = 0; i < 100 && !output().includes(s); i++) await new Promise((r) => setTimeout(r, 20));
  };
  return { slave, name, output, waitFor };
}

/** `stty -g` of the terminal on fd: the exact-equality check the console tests use. */
function sttyG(fd: number): string {
  const r = spawnSync('/bin/stty', ['-g'], { stdio: [fd, 'pipe', 'pipe'], encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim();
}

function thrown(fn: () => unknown): Error & { code?: unknown; syscall?: unknown } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: unknown };
  }
  throw new Error('expected a throw');
}

const C = () => loadNative().termiosConstants;

/** Asserts cfmakeraw's mode: every flag it clears is clear, CS8, VMIN 1, VTIME 0. */
function expectCfmakeraw(t: TermiosSnapshot): void {
  const c = C();
  expect(t.iflag & (c.IGNBRK | c.BRKINT | c.PARMRK | c.ISTRIP | c.INLCR | c.IGNCR | c.ICRNL | c.IXON)).toBe(0);
  expect(t.oflag & c.OPOST).toBe(0);
  expect(t.lflag & (c.ECHO | c.ECHONL | c.ICANON | c.ISIG | c.IEXTEN)).toBe(0);
  expect(t.cflag & c.PARENB).toBe(0);
  expect(t.cflag & c.CSIZE).toBe(c.CS8);
  expect(t.cc[c.VMIN]).toBe(1);
  expect(t.cc[c.VTIME]).toBe(0);
}

describe('termios in the native addon, on a real pty', () => {
  it('reads a snapshot whose raw bytes are the struct termios and whose fields say cooked mode', () => {
    const { slave } = ptyPair();
    const snap = loadNative().tcgetattr(slave);
    expect(snap.raw).toBeInstanceOf(Buffer);
    expect(snap.raw.length).toBe(C().SIZEOF_TERMIOS);
    expect(snap.cc).toHaveLength(C().NCCS);
    // A fresh pty is cooked: output processing with LF -> CR LF, echo, canonical input, signals.
    expect(snap.oflag & (C().OPOST | C().ONLCR)).toBe(C().OPOST | C().ONLCR);
    expect(snap.lflag & (C().ECHO | C().ICANON | C().ISIG)).toBe(C().ECHO | C().ICANON | C().ISIG);
  });

  it("makeRaw applies cfmakeraw's flag set, returns the modes from before, and tcsetattr restores them exactly", () => {
    const { slave } = ptyPair();
    const before = sttyG(slave);
    const snapBefore = loadNative().tcgetattr(slave);
    const returned = loadNative().makeRaw(slave);
    expect(returned).toEqual(snapBefore);
    const now = loadNative().tcgetattr(slave);
    expectCfmakeraw(now);
    // Nothing else changed: ONLCR stays set (cfmakeraw only clears OPOST, which disables it).
    expect(now.oflag & C().ONLCR).toBe(C().ONLCR);
    expect(now.ispeed).toBe(snapBefore.ispeed);
    expect(sttyG(slave)).not.toBe(before);
    loadNative().tcsetattr(slave, returned, C().TCSANOW);
    expect(sttyG(slave)).toBe(before);
    expect(loadNative().tcgetattr(slave)).toEqual(snapBefore);
  });

  it('in raw mode a bare LF reaches the pty master unchanged; cooked, it becomes CR LF', async () => {
    const { slave, output, waitFor } = ptyPair();
    fs.writeSync(slave, 'ab\ncd\n|');
    await waitFor('|');
    expect(output()).toContain('ab\r\ncd\r\n|');
    const saved = loadNative().makeRaw(slave);
    fs.writeSync(slave, 'RAW:ab\ncd\n|');
    await waitFor('RAW:ab\ncd\n|');
    expect(output()).toContain('RAW:ab\ncd\n|');
    loadNative().tcsetattr(slave, saved, C().TCSADRAIN);
  });

  it.each<[string, () => unknown, string, string]>([
    ['tcgetattr with a string fd', () => loadNative().tcgetattr('0' as unknown as number), 'ERR_INVALID_ARG_TYPE', 'tcgetattr(fd): fd must be a number, got a string'],
    ['makeRaw with a negative fd', () => loadNative().makeRaw(-1), 'ERR_INVALID_ARG_VALUE', 'makeRaw(fd): fd must be >= 0, got -1'],
    ['makeRaw with a fraction', () => loadNative().makeRaw(1.5), 'ERR_INVALID_ARG_VALUE', 'fd must be an integer, got 1.5'],
    ['tcsetattr without a snapshot', () => loadNative().tcsetattr(0, undefined as unknown as TermiosSnapshot, 0), 'ERR_INVALID_ARG_TYPE', 'snapshot must be an object from tcgetattr or makeRaw, got undefined'],
    ['tcsetattr with a bare Buffer', () => loadNative().tcsetattr(0, Buffer.alloc(8) as unknown as TermiosSnapshot, 0), 'ERR_INVALID_ARG_TYPE', 'got a Buffer'],
    ['tcsetattr with a short raw', () => loadNative().tcsetattr(0, { raw: Buffer.alloc(3) } as TermiosSnapshot, 0), 'ERR_INVALID_ARG_VALUE', 'got 3'],
    ['tcsetattr with raw not a Buffer', () => loadNative().tcsetattr(0, { raw: 'x' } as unknown as TermiosSnapshot, 0), 'ERR_INVALID_ARG_TYPE', 'snapshot.raw must be a Buffer, got a string'],
  ])('%s is a TypeError', (_label, fn, code, message) => {
    const err = thrown(fn);
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
  });

  it('tcsetattr refuses a `when` that is not a TCSA* constant', () => {
    const { slave } = ptyPair();
    const snap = loadNative().tcgetattr(slave);
    for (const when of [99, -1, 'now', undefined]) {
      const err = thrown(() => loadNative().tcsetattr(slave, snap, when as number));
      expect(err).toBeInstanceOf(TypeError);
      expect(err.message).toContain('when must be TCSANOW, TCSADRAIN or TCSAFLUSH');
    }
  });

  it('throws ENOTTY for a regular file and EBADF for a closed fd, naming the fd', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-termios-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = fs.openSync(path.join(dir, 'f'), 'w');
    cleanups.push(() => fs.closeSync(file));
    expect(thrown(() => loadNative().makeRaw(file))).toMatchObject({ code: 'ENOTTY', syscall: 'tcgetattr', message: expect.stringContaining(`fd ${file} is not a terminal`) });
    const closed = fs.openSync(path.join(dir, 'g'), 'w');
    fs.closeSync(closed);
    expect(thrown(() => loadNative().tcgetattr(closed))).toMatchObject({ code: 'EBADF' });
    const snap = { raw: Buffer.alloc(C().SIZEOF_TERMIOS) } as TermiosSnapshot;
    expect(thrown(() => loadNative().tcsetattr(file, snap, C().TCSANOW))).toMatchObject({ code: 'ENOTTY', syscall: 'tcsetattr' });
  });

  it('survives every bad input in a fresh process', () => {
    const script = `const b = require(process.argv[1]); const out = [];
      for (const f of [() => b.tcgetattr(), () => b.makeRaw(NaN), () => b.makeRaw(2 ** 31), () => b.tcsetattr(0, null, 0),
        () => b.tcsetattr(0, { raw: {} }, 0), () => b.tcgetattr(2 ** 31 - 1), () => b.flock(2 ** 31 - 1, 2), () => b.flock(0, 3)]) {
        try { f(); out.push('returned'); } catch (e) { out.push(e.code); }
      }
      console.log(JSON.stringify(out));`;
    const [addon] = nativeCandidatePaths().filter((p) => fs.existsSync(p));
    const r = spawnSync(process.execPath, ['-e', script, addon!], { encoding: 'utf8' });
    expect(r.signal, r.stderr).toBeNull();
    expect(JSON.parse(r.stdout)).toEqual([
      'ERR_INVALID_ARG_TYPE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_TYPE', 'EBADF', 'EBADF', 'ERR_INVALID_ARG_VALUE',
    ]);
  });
});

describe('enterRaw', () => {
  it.each([
    ['native', undefined],
    ['stty', null],
  ] as const)('with the %s method sets full raw mode and restores the exact modes', (method, native) => {
    const { slave } = ptyPair();
    const before = sttyG(slave);
    const h = enterRaw(slave, undefined, native === null ? { native: null } : {});
    expect(h.method).toBe(method);
    expect(h.active).toBe(true);
    expectCfmakeraw(loadNative().tcgetattr(slave));
    expect(h.restore()).toBe(true);
    expect(h.active).toBe(false);
    expect(sttyG(slave)).toBe(before);
    // Twice is harmless and changes nothing.
    expect(h.restore()).toBe(true);
    expect(sttyG(slave)).toBe(before);
  });

  it("keeps a Node tty stream's raw flag and libuv's saved modes in step, and libuv cannot undo the restore", () => {
    const { slave, name } = ptyPair();
    const fd = fs.openSync(name, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    const stream = new tty.ReadStream(fd);
    cleanups.push(() => stream.destroy());
    const before = sttyG(slave);
    const h = enterRaw(fd, stream);
    expect(stream.isRaw).toBe(true);
    expectCfmakeraw(loadNative().tcgetattr(slave));
    h.restore();
    expect(stream.isRaw).toBe(false);
    expect(sttyG(slave)).toBe(before);
    // libuv restores what it saw at setRawMode(true), the original: calling it again changes nothing.
    stream.setRawMode(true);
    stream.setRawMode(false);
    expect(sttyG(slave)).toBe(before);
  });

  it('switches the stream first and back first, and leaves nothing raw when it fails', () => {
    const calls: string[] = [];
    const stream = { setRawMode: (m: boolean) => calls.push(`setRawMode(${m})`) };
    const { slave } = ptyPair();
    const before = sttyG(slave);
    const native = loadNative();
    const failing = { ...native, makeRaw: () => { calls.push('makeRaw'); throw Object.assign(new Error('nope'), { code: 'EIO' }); } };
    expect(thrown(() => enterRaw(slave, stream, { native: failing }))).toMatchObject({ name: 'BentoError', code: 'io-error', message: expect.stringContaining('[EIO]') });
    expect(calls).toEqual(['setRawMode(true)', 'makeRaw', 'setRawMode(false)']);
    expect(sttyG(slave)).toBe(before);
    // The stty fallback with a missing binary fails before touching anything.
    calls.length = 0;
    expect(thrown(() => enterRaw(slave, stream, { native: null, stty: '/nonexistent/stty' }))).toMatchObject({ code: 'io-error' });
    expect(calls).toEqual([]);
  });

  it('refuses a bad fd and a non-terminal with clear errors', () => {
    expect(thrown(() => enterRaw(-1))).toMatchObject({ code: 'invalid-input' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-termios-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = fs.openSync(path.join(dir, 'f'), 'w');
    cleanups.push(() => fs.closeSync(file));
    expect(thrown(() => saveTerminal(file))).toMatchObject({ code: 'io-error', message: expect.stringContaining('[ENOTTY]') });
    expect(thrown(() => saveTerminal(file, { native: null }))).toMatchObject({ code: 'io-error', message: expect.stringContaining('stty -g') });
  });
});
