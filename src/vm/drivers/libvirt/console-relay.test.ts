// The console relay of a libvirt VM (through LibvirtHost.openConsole, on the fake binding): the log it
// writes, the wake-up/input protocol of bento-vmm's socket, flow control, a console held elsewhere,
// and its end when the domain stops.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { FakeConnection} from '../../../../test/helpers/fake-libvirt.js';
import { EVENT, FakeLibvirt, STATE, type FakeConsoleStream, type FakeDomain, type FakeLibvirtd } from '../../../../test/helpers/fake-libvirt.js';
import { BentoError } from '../../errors.js';
import { readLogIndex } from '../../serial-log.js';
import { vmFiles } from '../../paths.js';
import { LibvirtHost } from './host.js';

const URI = 'test:///lab';
let home: string;
let fake: FakeLibvirt;
let daemon: FakeLibvirtd;
let host: LibvirtHost;
let dom: FakeDomain;
const sockets: net.Socket[] = [];

async function until(cond: () => boolean, ms = 2_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

beforeEach(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-relay-'));
  fake = new FakeLibvirt();
  daemon = fake.daemon(URI);
  dom = daemon.define({ name: 'web' });
  host = new LibvirtHost({ name: 'lab1', uri: URI, home, binding: fake, log: () => undefined, logCap: 1024 * 1024 });
  host.connect();
  await until(() => host.info().state === 'connected');
  await host.start('web');
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await host.close();
  fs.rmSync(home, { recursive: true, force: true });
});

function client(file: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(file, () => resolve(s));
    s.once('error', reject);
    sockets.push(s);
  });
}

test('output goes to the serial log in the VM folder, each client gets one wake-up byte, input reaches the guest', async () => {
  const relay = await host.openConsole('web', { force: false });
  const dir = host.get('web').dir;
  expect(relay.endpoint).toMatchObject({ socket: path.join(dir, 'console.sock'), log: path.join(dir, 'serial.log'), device: 'serial' });
  for (const d of [dir, path.join(home, 'hosts'), path.join(home, 'hosts', 'lab1')]) expect(fs.statSync(d).mode & 0o777).toBe(0o700);
  expect(fs.statSync(relay.endpoint.socket).mode & 0o777).toBe(0o600);
  const c = await client(relay.endpoint.socket);
  const wakes: Buffer[] = [];
  c.on('data', (b: Buffer) => wakes.push(b));
  // One wake-up on connect (output may have come before it), then one per write to the log.
  await until(() => wakes.length > 0);
  expect(Buffer.concat(wakes).toString()).toBe('w');
  wakes.length = 0;
  daemon.consoleOutput(dom, 'login: ');
  await until(() => wakes.length > 0);
  await new Promise((r) => setTimeout(r, 10));
  expect(Buffer.concat(wakes).toString()).toBe('w');
  const log = fs.readFileSync(relay.endpoint.log, 'utf8');
  expect(log).toMatch(/^-- bento: boot 1, \S+ --\r\nlogin: $/);
  expect(readLogIndex(vmFiles(dir))?.boots).toHaveLength(1);
  c.write('root\r');
  await until(() => Buffer.concat(dom.consoleInput).toString() === 'root\r');
  // The same relay while it is open.
  expect(await host.openConsole('web', { force: false })).toBe(relay);
});

test('flow control: while the guest reads nothing, the relay stops reading its clients; nothing is lost', async () => {
  const relay = await host.openConsole('web', { force: false });
  const stream = daemon.consoles.get(dom.uuid) as FakeConsoleStream;
  dom.consoleStalled = true;
  const c = await client(relay.endpoint.socket);
  const total = 1024 * 1024;
  const data = Buffer.alloc(total);
  for (let i = 0; i < total; i++) data[i] = i % 251;
  c.write(data);
  await until(() => stream.pendingBytes > 64 * 1024, 2_000, 'the stream queue to fill');
  await new Promise((r) => setTimeout(r, 50));
  // Bounded: at most the stream's own high water plus one read of the socket.
  expect(stream.pendingBytes).toBeLessThanOrEqual(64 * 1024 + 64 * 1024);
  expect(dom.consoleInput).toHaveLength(0);
  stream.unstall();
  await until(() => dom.consoleInput.reduce((n, b) => n + b.length, 0) === total, 5_000, 'all input');
  expect(Buffer.concat(dom.consoleInput).equals(data)).toBe(true);
});

test('a console another client holds is refused with a hint to use --force; force takes it over', async () => {
  // virsh console on another connection.
  const other = (await fake.open(URI)) as FakeConnection;
  let otherEnded = false;
  await other.openConsole(dom.uuid, { force: false, onData: () => undefined, onEnd: () => (otherEnded = true) });
  const e = await host.openConsole('web', { force: false }).then(
    () => null,
    (err: unknown) => err as BentoError,
  );
  expect(e).toBeInstanceOf(BentoError);
  expect(e!.code).toBe('busy');
  expect(e!.message).toMatch(/held by another client.*--force/);
  // Nothing is left behind by the refused open.
  expect(fs.existsSync(path.join(host.get('web').dir, 'console.sock'))).toBe(false);
  const relay = await host.openConsole('web', { force: true });
  await until(() => otherEnded);
  expect(relay.closed).toBe(false);
});

test('the relay ends when the domain stops: its listeners hear why and the socket goes', async () => {
  const relay = await host.openConsole('web', { force: false });
  const c = await client(relay.endpoint.socket);
  const closed = new Promise<void>((r) => c.on('close', () => r()));
  c.resume(); // a client that reads sees the end
  let why = '';
  relay.onEnd((r) => (why = r));
  daemon.setState(dom, STATE.SHUTOFF, 1, EVENT.STOPPED, 0);
  await until(() => why !== '');
  expect(why).toBe('console stream ended');
  await closed;
  expect(relay.closed).toBe(true);
  expect(fs.existsSync(relay.endpoint.socket)).toBe(false);
  // A later open makes a new relay (the host forgot the ended one), once the domain runs again.
  await host.start('web');
  const again = await host.openConsole('web', { force: false });
  expect(again).not.toBe(relay);
  expect(readLogIndex(vmFiles(host.get('web').dir))?.boots).toHaveLength(2);
});

test('a socket path too long for a Unix socket falls back to a private temp folder', async () => {
  await host.close();
  const deep = path.join(home, 'x'.repeat(60));
  fs.mkdirSync(deep);
  const h = new LibvirtHost({ name: 'lab1', uri: URI, home: deep, binding: fake, log: () => undefined });
  host = h;
  h.connect();
  await until(() => h.info().state === 'connected');
  const relay = await h.openConsole('web', { force: false });
  expect(relay.endpoint.socket.startsWith(os.tmpdir())).toBe(true);
  expect(fs.statSync(path.dirname(relay.endpoint.socket)).mode & 0o777).toBe(0o700);
  expect(relay.endpoint.log.startsWith(deep)).toBe(true);
  await relay.close();
  expect(fs.existsSync(path.dirname(relay.endpoint.socket))).toBe(false);
});
