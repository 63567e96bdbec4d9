import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BentoError } from '../vm/errors.js';
import {
  BINDING_VERSION,
  findPackageRoot,
  loadNative,
  loadNativeFrom,
  NATIVE_PATH_ENV,
  nativeCandidatePaths,
  peerCredentials,
  peerCredentialsOfFd,
} from './native.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-native-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A listening server plus a way to await the next socket it accepts. */
async function listen(address: string | { host: string; port: number }) {
  const pending: net.Socket[] = [];
  const waiters: ((s: net.Socket) => void)[] = [];
  const server = net.createServer((s) => {
    cleanups.push(() => s.destroy());
    const waiter = waiters.shift();
    if (waiter) waiter(s);
    else pending.push(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (typeof address === 'string') server.listen(address, resolve);
    else server.listen(address.port, address.host, resolve);
  });
  cleanups.push(() => server.close());
  const next = () =>
    new Promise<net.Socket>((resolve) => {
      const ready = pending.shift();
      if (ready) resolve(ready);
      else waiters.push(resolve);
    });
  return { server, next };
}

async function connect(options: net.NetConnectOpts): Promise<net.Socket> {
  const client = net.connect(options);
  cleanups.push(() => client.destroy());
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  return client;
}

/** The error `fn` throws; fails the test if it returns. */
function thrown(fn: () => unknown): Error & { code?: unknown; cause?: unknown } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: unknown };
  }
  throw new Error('expected a throw');
}

describe('native addon over a real Unix socket', () => {
  it('gives the server our own uid, gid and pid when this process is the client', async () => {
    const sock = path.join(tempDir(), 'd.sock');
    const { next } = await listen(sock);
    const client = await connect({ path: sock });
    const accepted = await next();
    const expected = { uid: process.getuid!(), gid: process.getgid!(), pid: process.pid };
    expect(peerCredentials(accepted)).toEqual(expected);
    // The client end sees the server, which is this process too.
    expect(peerCredentials(client)).toEqual(expected);
    expect(loadNative().getPeerCredentials((accepted as unknown as { _handle: { fd: number } })._handle.fd)).toEqual(
      expected,
    );
  });

  it("gives the server a child client's pid", async () => {
    const sock = path.join(tempDir(), 'd.sock');
    const { next } = await listen(sock);
    // The child stays connected until the server answers, so its credentials are read live.
    const script = `const s = require('node:net').connect(process.argv[1]);
      s.on('data', () => s.end());
      s.on('error', (e) => { console.error(e.message); process.exit(2); });
      setTimeout(() => process.exit(3), 15000).unref();`;
    const child = spawn(process.execPath, ['-e', script, sock], { stdio: ['ignore', 'ignore', 'pipe'] });
    cleanups.push(() => child.kill());
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const accepted = await next();
    const creds = peerCredentials(accepted);
    accepted.end('bye');
    expect(creds).toEqual({ uid: process.getuid!(), gid: process.getgid!(), pid: child.pid });
    expect(await exited, stderr).toBe(0);
  });
});

describe('native addon argument and errno errors', () => {
  const binding = () => loadNative();

  it.each<[string, unknown, string]>([
    ['a string', '3', 'fd must be a number, got a string'],
    ['undefined', undefined, 'fd must be a number, got undefined'],
    ['null', null, 'fd must be a number, got null'],
    ['an object', { fd: 3 }, 'fd must be a number, got an object'],
    ['a fraction', 1.5, 'fd must be an integer, got 1.5'],
    ['NaN', NaN, 'fd must be an integer, got NaN'],
    ['Infinity', Infinity, 'fd must be an integer, got Infinity'],
    ['a negative number', -1, 'fd must be >= 0, got -1'],
    ['a number past INT_MAX', 2 ** 31, 'fd is out of range'],
  ])('throws a TypeError for %s', (_label, value, message) => {
    const err = thrown(() => binding().getPeerCredentials(value as number));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain(message);
    expect(err.code).toMatch(/^ERR_INVALID_ARG_(TYPE|VALUE)$/);
  });

  it('throws a TypeError when called with no argument', () => {
    const err = thrown(() => (binding().getPeerCredentials as () => unknown)());
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain('got undefined');
  });

  it('throws EBADF for a closed fd and for an fd that was never open', () => {
    const fd = fs.openSync(path.join(tempDir(), 'f'), 'w');
    fs.closeSync(fd);
    for (const bad of [fd, 2 ** 31 - 1]) {
      const err = thrown(() => binding().getPeerCredentials(bad));
      expect(err).not.toBeInstanceOf(TypeError);
      expect(err).toMatchObject({ code: 'EBADF', syscall: 'getsockname' });
      expect(err.message).toContain(`fd ${bad} is not an open file descriptor`);
    }
  });

  it('throws ENOTSOCK for a regular file', () => {
    const fd = fs.openSync(path.join(tempDir(), 'f'), 'w');
    cleanups.push(() => fs.closeSync(fd));
    const err = thrown(() => binding().getPeerCredentials(fd));
    expect(err).toMatchObject({ code: 'ENOTSOCK' });
    expect(err.message).toContain(`fd ${fd} is not a socket`);
  });

  it('throws EAFNOSUPPORT for both ends of a TCP connection', async () => {
    const { server, next } = await listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.address() as net.AddressInfo;
    const client = await connect({ host: '127.0.0.1', port });
    for (const socket of [await next(), client]) {
      const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
      const err = thrown(() => binding().getPeerCredentials(fd));
      expect(err).toMatchObject({ code: 'EAFNOSUPPORT' });
      expect(err.message).toContain(`fd ${fd} is not a Unix-domain socket`);
    }
  });

  it('throws ENOTCONN for a listening Unix socket rather than reporting our own credentials', async () => {
    const { server } = await listen(path.join(tempDir(), 'd.sock'));
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    expect(thrown(() => binding().getPeerCredentials(fd))).toMatchObject({ code: 'ENOTCONN' });
  });

  it('survives every bad input in a fresh process', () => {
    // Proves the bad cases throw rather than abort: a crash here would kill the child, not vitest.
    const script = `const b = require(process.argv[1]); const fs = require('node:fs');
      const fd = fs.openSync(process.argv[2], 'w');
      const out = [];
      for (const v of ['x', undefined, 1.5, -1, NaN, fd, 2 ** 31 - 1]) {
        try { b.getPeerCredentials(v); out.push('returned'); } catch (e) { out.push(e.code); }
      }
      console.log(JSON.stringify(out));`;
    const [addon] = nativeCandidatePaths().filter((p) => fs.existsSync(p));
    const r = spawnSync(process.execPath, ['-e', script, addon!, path.join(tempDir(), 'f')], { encoding: 'utf8' });
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_TYPE',
      'ERR_INVALID_ARG_VALUE',
      'ERR_INVALID_ARG_VALUE',
      'ERR_INVALID_ARG_VALUE',
      'ENOTSOCK',
      'EBADF',
    ]);
  });
});

describe('checked wrappers', () => {
  it('rejects a bad fd as invalid-input before calling into C++', () => {
    for (const bad of ['3', undefined, 1.5, -1, NaN]) {
      expect(thrown(() => peerCredentialsOfFd(bad as number))).toMatchObject({ name: 'BentoError', code: 'invalid-input' });
    }
  });

  it('turns an errno error into io-error, keeping the native error as the cause', () => {
    const fd = fs.openSync(path.join(tempDir(), 'f'), 'w');
    cleanups.push(() => fs.closeSync(fd));
    const err = thrown(() => peerCredentialsOfFd(fd));
    expect(err).toBeInstanceOf(BentoError);
    expect(err).toMatchObject({ code: 'io-error' });
    expect(err.message).toContain(`fd ${fd} [ENOTSOCK]`);
    expect(err.cause).toMatchObject({ code: 'ENOTSOCK' });
  });

  it('reports a destroyed socket as invalid-state', async () => {
    const sock = path.join(tempDir(), 'd.sock');
    await listen(sock);
    const client = await connect({ path: sock });
    client.destroy();
    expect(thrown(() => peerCredentials(client))).toMatchObject({ code: 'invalid-state' });
  });
});

describe('loader', () => {
  it('finds the package root and looks in Release then Debug', () => {
    expect(findPackageRoot(import.meta.dirname)).toBe(repoRoot);
    expect(findPackageRoot(os.tmpdir())).toBeUndefined();
    expect(nativeCandidatePaths({})).toEqual([
      path.join(repoRoot, 'native/build/Release/bento_native.node'),
      path.join(repoRoot, 'native/build/Debug/bento_native.node'),
    ]);
    expect(nativeCandidatePaths({ [NATIVE_PATH_ENV]: 'x/y.node' })).toEqual([path.resolve('x/y.node')]);
  });

  it('loads the built addon at its expected version', () => {
    expect(loadNative().version).toBe(BINDING_VERSION);
    expect(loadNative()).toBe(loadNative());
  });

  it('names every path it tried and how to build when nothing loads', () => {
    const dir = tempDir();
    const broken = path.join(dir, 'broken.node');
    fs.writeFileSync(broken, 'not an ELF file');
    const stale = path.join(dir, 'stale.cjs');
    fs.writeFileSync(stale, "module.exports = { version: '0' };");
    const missing = path.join(dir, 'missing.node');
    const err = thrown(() => loadNativeFrom([missing, broken, stale]));
    expect(err).toBeInstanceOf(BentoError);
    expect(err).toMatchObject({ code: 'unsupported' });
    expect(err.message).toContain(`${missing} (missing)`);
    expect(err.message).toContain(`${broken} (failed to load:`);
    expect(err.message).toContain(`${stale} (stale build: version 0, need ${BINDING_VERSION})`);
    expect(err.message).toContain('npm rebuild bento');
    expect(err.message).toContain('node scripts/build-native.mjs');
    expect(err.cause).toBeInstanceOf(Error);
  });
});
