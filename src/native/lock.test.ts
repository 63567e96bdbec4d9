import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tryLockExclusive } from './lock.js';
import { loadNative } from './native.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-lock-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const repoRoot = path.resolve(import.meta.dirname, '../..');

/** A child node that takes the lock with the same helper, says HELD or BUSY, and holds until stdin ends. */
function childHolder(file: string) {
  const script = `import { tryLockExclusive } from ${JSON.stringify(path.join(repoRoot, 'src/native/lock.ts'))};
    const lock = tryLockExclusive(process.argv[1]);
    process.stdout.write(lock ? 'HELD\\n' : 'BUSY\\n');
    process.stdin.on('end', () => { lock?.release(); process.exit(0); });
    process.stdin.resume();`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, file], {
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  cleanups.push(() => child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const said = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => out.includes('\n') && resolve(out.trim()));
    child.on('exit', (code) => reject(new Error(`holder exited ${code} before answering: ${err}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { child, said, exited };
}

describe('tryLockExclusive', () => {
  it('gives null while another process holds the lock, and the lock once it exits', async () => {
    const file = path.join(tempDir(), 'bentod.lock');
    const holder = childHolder(file);
    expect(await holder.said).toBe('HELD');
    expect(tryLockExclusive(file)).toBeNull();
    expect(tryLockExclusive(file)).toBeNull();
    holder.child.stdin.end();
    expect(await holder.exited).toBe(0);
    const mine = tryLockExclusive(file);
    expect(mine).not.toBeNull();
    cleanups.push(() => mine?.release());
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    // Now the child is the one left out.
    const second = childHolder(file);
    expect(await second.said).toBe('BUSY');
  });

  it('is freed by the kernel when the holder is killed, and by release() here', async () => {
    const file = path.join(tempDir(), 'l');
    const holder = childHolder(file);
    expect(await holder.said).toBe('HELD');
    holder.child.kill('SIGKILL');
    await holder.exited;
    const a = tryLockExclusive(file);
    expect(a).not.toBeNull();
    // A second open in this same process is another open file description: it is refused too.
    expect(tryLockExclusive(file)).toBeNull();
    a!.release();
    a!.release();
    const b = tryLockExclusive(file);
    expect(b).not.toBeNull();
    b!.release();
  });

  it('refuses a symbolic link and a directory with io-error', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'target'), '');
    fs.symlinkSync(path.join(dir, 'target'), path.join(dir, 'link'));
    expect(() => tryLockExclusive(path.join(dir, 'link'))).toThrow(/symbolic link/);
    fs.mkdirSync(path.join(dir, 'd'));
    expect(() => tryLockExclusive(path.join(dir, 'd'))).toThrow(expect.objectContaining({ code: 'io-error' }));
  });
});

describe('flock in the native addon', () => {
  const b = () => loadNative();

  it('takes, refuses and releases locks across two open file descriptions', () => {
    const file = path.join(tempDir(), 'f');
    const { LOCK_SH, LOCK_EX, LOCK_UN, LOCK_NB } = b().flockConstants;
    const x = fs.openSync(file, 'w');
    const y = fs.openSync(file, 'r');
    cleanups.push(() => (fs.closeSync(x), fs.closeSync(y)));
    expect(b().flock(x, LOCK_SH | LOCK_NB)).toBe(true);
    expect(b().flock(y, LOCK_SH | LOCK_NB)).toBe(true);
    expect(b().flock(y, LOCK_EX | LOCK_NB)).toBe(false);
    expect(b().flock(x, LOCK_UN)).toBe(true);
    expect(b().flock(y, LOCK_EX | LOCK_NB)).toBe(true);
    expect(b().flock(x, LOCK_EX | LOCK_NB)).toBe(false);
    expect(b().flock(y, LOCK_UN)).toBe(true);
    expect(b().flock(x, LOCK_EX)).toBe(true);
  });

  it.each<[string, unknown, unknown, string, string]>([
    ['a string fd', '3', 2, 'ERR_INVALID_ARG_TYPE', 'flock(fd, op): fd must be a number, got a string'],
    ['a negative fd', -1, 2, 'ERR_INVALID_ARG_VALUE', 'fd must be >= 0, got -1'],
    ['no op', 0, undefined, 'ERR_INVALID_ARG_TYPE', 'op must be a number, got undefined'],
    ['op 0', 0, 0, 'ERR_INVALID_ARG_VALUE', 'op must be LOCK_SH, LOCK_EX or LOCK_UN, optionally | LOCK_NB, got 0'],
    ['op SH|EX', 0, 3, 'ERR_INVALID_ARG_VALUE', 'got 3'],
    ['a fractional op', 0, 2.5, 'ERR_INVALID_ARG_VALUE', 'op must be an integer, got 2.5'],
    ['a NaN op', 0, NaN, 'ERR_INVALID_ARG_VALUE', 'op must be an integer, got NaN'],
  ])('refuses %s with a TypeError', (_label, fd, op, code, message) => {
    let err: (Error & { code?: unknown }) | undefined;
    try {
      b().flock(fd as number, op as number);
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeInstanceOf(TypeError);
    expect(err?.code).toBe(code);
    expect(err?.message).toContain(message);
  });

  it('throws EBADF naming a closed fd', () => {
    const fd = fs.openSync(path.join(tempDir(), 'f'), 'w');
    fs.closeSync(fd);
    expect(() => b().flock(fd, b().flockConstants.LOCK_EX)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'flock' }));
  });
});
