import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPeer, isPeerAllowed } from './peer-check.js';

const NOBODY = 65534;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

/** A Unix-socket server in a world-accessible temp folder, so file modes never decide who connects. */
async function openServer() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-peer-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.chmodSync(dir, 0o777);
  const sock = path.join(dir, 'd.sock');
  const waiters: ((s: net.Socket) => void)[] = [];
  const server = net.createServer((s) => {
    cleanups.push(() => s.destroy());
    waiters.shift()?.(s);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(sock, resolve));
  cleanups.push(() => server.close());
  fs.chmodSync(sock, 0o666);
  // Register before connecting: the server may accept before the caller awaits.
  const next = () => new Promise<net.Socket>((resolve) => waiters.push(resolve));
  return { dir, sock, next };
}

/** A `node -e` client that stays connected until the server writes, optionally as another user. */
function spawnClient(sock: string, cwd: string, prefix: string[] = []) {
  const script = `const s = require('node:net').connect(process.argv[1]);
    s.on('data', () => s.end());
    s.on('error', (e) => { console.error(e.message); process.exit(2); });
    setTimeout(() => process.exit(3), 15000).unref();`;
  const argv = [...prefix, process.execPath, '-e', script, sock];
  const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  cleanups.push(() => child.kill());
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string>((resolve) => child.on('close', (code) => resolve(`exit ${code}: ${stderr}`)));
  return { child, exited };
}

describe('isPeerAllowed', () => {
  const creds = (uid: number) => ({ uid, gid: uid, pid: 1 });
  it.each<[string, number, number | undefined, number[], boolean]>([
    ['its own uid', 1000, 1000, [], true],
    ['root', 0, 1000, [], true],
    ['a listed uid', 1001, 1000, [1001], true],
    ['another uid', 1001, 1000, [], false],
    ['another uid, none listed, no own uid', 1001, undefined, [1002], false],
  ])('decides %s', (_label, uid, self, allow, expected) => {
    expect(isPeerAllowed(creds(uid), self, allow)).toBe(expected);
  });
});

describe('checkPeer over a real Unix socket', () => {
  it('accepts a client running as our own user', async () => {
    const { dir, sock, next } = await openServer();
    const accepted = next();
    const { child, exited } = spawnClient(sock, dir);
    const server = await accepted;
    const result = checkPeer(server, { allowUids: [] });
    server.end('bye');
    expect(result).toEqual({ ok: true, creds: { uid: process.getuid!(), gid: process.getgid!(), pid: child.pid } });
    expect(await exited).toBe('exit 0: ');
  });

  it('refuses a client running as nobody, naming its uid and pid, while the owner is accepted', async () => {
    if (spawnSync('setpriv', ['--version']).error) {
      throw new Error('this test needs `setpriv` (util-linux) to run a client as nobody; install util-linux');
    }
    if (process.getuid!() !== 0) {
      throw new Error(`this test must run as root to switch a client to uid ${NOBODY}; it runs as uid ${process.getuid!()}`);
    }
    const { dir, sock, next } = await openServer();
    const asNobody = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];

    let accepted = next();
    const nobody = spawnClient(sock, dir, asNobody);
    let server = await accepted;
    const refused = checkPeer(server, { allowUids: [] });
    // The same client passes once its uid is listed.
    const listed = checkPeer(server, { allowUids: [NOBODY] });
    server.end('bye');
    expect(refused.ok).toBe(false);
    const reason = refused.ok ? '' : refused.reason;
    expect(reason).toContain(`uid ${NOBODY}`);
    // setpriv execs node, so the pid the kernel reports is the one spawn saw.
    expect(reason).toContain(`pid ${nobody.child.pid}`);
    expect(listed).toMatchObject({ ok: true, creds: { uid: NOBODY, gid: NOBODY, pid: nobody.child.pid } });
    expect(await nobody.exited).toBe('exit 0: ');

    accepted = next();
    const owner = spawnClient(sock, dir);
    server = await accepted;
    const ok = checkPeer(server, { allowUids: [] });
    server.end('bye');
    expect(ok).toMatchObject({ ok: true, creds: { uid: 0, pid: owner.child.pid } });
    expect(await owner.exited).toBe('exit 0: ');
  });

  it('refuses, rather than throws, when the socket is already closed', async () => {
    const { dir, sock, next } = await openServer();
    const accepted = next();
    const { exited } = spawnClient(sock, dir);
    const server = await accepted;
    server.destroy();
    const result = checkPeer(server, { allowUids: [] });
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain('socket is closed');
    await exited;
  });
});
