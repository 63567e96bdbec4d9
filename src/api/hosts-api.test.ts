// bentod's API over hosts, in one process: the real routes, event stream and console hub over a
// HostRegistry with the real local engine (no VMs) and libvirt hosts on the fake binding; the typed
// client and a WebSocket viewer on a Unix socket.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { EVENT, FakeLibvirt, STATE, type FakeLibvirtd } from '../../test/helpers/fake-libvirt.js';
import { LibvirtHost } from '../vm/drivers/libvirt/host.js';
import { HostRegistry, memoryHostsStore, type HostsStore } from '../vm/hosts.js';
import { VmManager } from '../vm/manager.js';
import { InstanceStore } from '../vm/store.js';
import type { HostEvent, HostInfo, StateEvent, VmChange } from '../vm/types.js';
import { BentoClient } from './client.js';
import { ConsoleHub } from './console-hub.js';
import { buildRoutes, dispatch } from './routes.js';
import { failure } from '../../test/helpers/failure.js';

let dir: string;
let sock: string;
let fake: FakeLibvirt;
let lab1: FakeLibvirtd;
let store: HostsStore;
let hosts: HostRegistry<VmManager>;
let hub: ConsoleHub;
let server: http.Server;
let client: BentoClient;
const closers: Array<() => void> = [];

async function until(cond: () => boolean, ms = 3_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-hostsapi-'));
  sock = path.join(dir, 'bentod.sock');
  fake = new FakeLibvirt();
  lab1 = fake.daemon('test:///lab1');
  lab1.define({ name: 'theirs' });
  const instances = new InstanceStore(dir);
  const manager = new VmManager({ store: instances, drivers: {}, host: { cpus: 4, memoryMiB: 4096, stat: () => 'file' }, detectFormat: () => 'raw', log: () => undefined });
  await manager.init();
  store = memoryHostsStore([{ name: 'lab1', uri: 'test:///lab1' }]);
  hosts = new HostRegistry({
    local: manager,
    store,
    log: () => undefined,
    makeHost: (e) => new LibvirtHost({ ...e, home: dir, binding: fake, log: () => undefined, backoff: { firstMs: 20, maxMs: 40 } }),
  });
  hosts.init();
  const routes = buildRoutes(hosts, { version: 't', backends: ['qemu'], defaultAccel: 'tcg', pid: 1 });
  hub = new ConsoleHub(hosts, () => undefined);
  hub.start();
  server = http.createServer((req, res) => void dispatch(routes, req, res));
  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => undefined);
    if (!hub.handleUpgrade(req, socket, head as Buffer)) socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(sock, r));
  client = new BentoClient(sock);
  await until(() => hosts.hostInfo('lab1').state === 'connected');
});
afterEach(async () => {
  for (const c of closers.splice(0)) c();
  hub.close();
  await hosts.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Named events off /api/events (the typed client ignores the host ones it does not know yet). */
function watchEvents(): { host: HostEvent[]; change: VmChange[]; state: StateEvent[] } {
  const seen = { host: [] as HostEvent[], change: [] as VmChange[], state: [] as StateEvent[] };
  const req = http.get({ socketPath: sock, path: '/api/events' }, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const type = /^event: (\w+)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!data) continue;
        if (type === 'host') seen.host.push(JSON.parse(data) as HostEvent);
        else if (type === 'message') seen.state.push(JSON.parse(data) as StateEvent);
        else if (['created', 'changed', 'deleted'].includes(type)) seen.change.push(JSON.parse(data) as VmChange);
      }
    });
  });
  closers.push(() => req.destroy());
  return seen;
}

describe('hosts', () => {
  test('GET, POST and DELETE /api/hosts, with host events on the stream', async () => {
    const ev = watchEvents();
    await new Promise((r) => setTimeout(r, 20));
    expect((await client.request<HostInfo[]>('/api/hosts')).map((h) => [h.name, h.kind, h.state, h.vms])).toEqual([
      ['local', 'local', 'connected', 0],
      ['lab1', 'libvirt', 'connected', 1],
    ]);
    fake.daemon('test:///lab2').define({ name: 'db' });
    const added = await client.request<HostInfo>('/api/hosts', { method: 'POST', body: { name: 'lab2', uri: 'test:///lab2' } });
    expect(added).toMatchObject({ name: 'lab2', state: 'connecting' });
    expect(store.list().map((h) => h.name)).toEqual(['lab1', 'lab2']);
    await until(() => ev.host.some((e) => e.kind === 'changed' && e.host.name === 'lab2' && e.host.state === 'connected'));
    await until(() => ev.change.some((c) => c.kind === 'created' && c.name === 'lab2/db'));
    const bad = await failure(client.request('/api/hosts', { method: 'POST', body: { name: 'lab3', uri: 'qemu+ssh://me:secret@h/system' } }));
    expect(bad.code).toBe('invalid-input');
    expect(bad.fields?.[0]?.field).toBe('uri');
    expect((await failure(client.request('/api/hosts', { method: 'POST', body: { name: 'lab2', uri: 'test:///x' } }))).code).toBe('already-exists');
    expect((await failure(client.request('/api/hosts/local', { method: 'DELETE' }))).code).toBe('invalid-input');
    expect((await failure(client.request('/api/hosts/nope', { method: 'DELETE' }))).code).toBe('not-found');
    await client.request('/api/hosts/lab2', { method: 'DELETE' });
    await until(() => ev.host.some((e) => e.kind === 'removed' && e.name === 'lab2'));
    expect(ev.change.some((c) => c.kind === 'deleted' && c.name === 'lab2/db')).toBe(true);
    expect((await client.list()).map((v) => v.name)).toEqual(['lab1/theirs']);
  });

  test('a host lost and back: unreachable at once with its VMs marked, reconnected by itself', async () => {
    const ev = watchEvents();
    await new Promise((r) => setTimeout(r, 20));
    lab1.kill('eof');
    await until(() => ev.host.some((e) => e.kind === 'changed' && e.host.state === 'unreachable'));
    expect((await client.get('lab1/theirs')).reachable).toBe(false);
    const refused = await failure(client.start('lab1/theirs'));
    expect(refused.code).toBe('host-unreachable');
    lab1.revive();
    await until(() => ev.host.some((e) => e.kind === 'changed' && e.host.state === 'connected'));
    expect((await client.get('lab1/theirs')).reachable).toBe(true);
  });
});

describe('VMs of a libvirt host', () => {
  test('listed, created, started, paused, stopped and deleted by HOST/VM; foreign ones are not deleted', async () => {
    const ev = watchEvents();
    await new Promise((r) => setTimeout(r, 20));
    expect((await client.list()).map((v) => [v.name, v.host, v.backend])).toEqual([['lab1/theirs', 'lab1', 'libvirt']]);
    const vm = await client.create({ name: 'lab1/web', cpus: 1, kernel: '/boot/vmlinuz' });
    expect(vm).toMatchObject({ name: 'lab1/web', host: 'lab1', state: 'stopped' });
    expect((await client.start('lab1/web')).state).toBe('running');
    expect((await client.pause('lab1/web')).state).toBe('paused');
    expect((await client.resume('lab1/web')).state).toBe('running');
    expect((await client.stop('lab1/web', { timeoutMs: 2_000 })).state).toBe('stopped');
    await until(() => ev.state.some((s) => s.name === 'lab1/web' && s.state === 'stopped'));
    expect(ev.state.filter((s) => s.name === 'lab1/web').map((s) => s.state)).toContain('paused');
    const foreign = await failure(client.remove('lab1/theirs'));
    expect(foreign).toMatchObject({ code: 'unsupported', message: 'lab1/theirs was not created by bento; undefine it with virsh' });
    await client.remove('lab1/web');
    expect((await client.list()).map((v) => v.name)).toEqual(['lab1/theirs']);
    // The local engine still takes plain names, and refuses a libvirt backend with a hint.
    const local = await failure(client.create({ name: 'loc', backend: 'libvirt' }));
    expect(local.fields?.find((f) => f.field === 'backend')?.message).toMatch(/HOST\/NAME/);
  });

  test('local-only routes refuse a libvirt VM naming its host', async () => {
    const checks: Array<[string, Promise<unknown>]> = [
      ['snapshots', client.snapshots('lab1/theirs')],
      ['snapshot', client.snapshot('lab1/theirs')],
      ['suspend', client.suspend('lab1/theirs')],
      ['clone', client.clone('lab1/theirs', 'copy')],
      ['rename', client.rename('lab1/theirs', 'other')],
      ['edit', client.patch('lab1/theirs', { cpus: 2 })],
    ];
    for (const [what, p] of checks) {
      const e = await failure(p);
      expect([what, e.code]).toEqual([what, 'unsupported']);
      expect(e.message).toMatch(/not available for VMs on libvirt hosts \(host lab1\)/);
    }
    expect((await failure(client.get('lab9/x'))).code).toBe('not-found');
  });

  test('GET /api/stats lists a running libvirt VM with no figures and the notes saying why', async () => {
    await client.start('lab1/theirs');
    const report = await client.stats();
    expect(report.vms['lab1/theirs']).toMatchObject({ last: null, history: [], notes: { cpu: expect.stringMatching(/libvirt hosts/) } });
  });
});

describe('console of a libvirt VM', () => {
  function viewer(name: string, query = ''): Promise<{ ws: WebSocket; text: () => string; controls: Array<{ type: string; [k: string]: unknown }> }> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws+unix://${sock}:/api/vms/${encodeURIComponent(name)}/console?scrollback=0${query}`);
      const out: Buffer[] = [];
      const controls: Array<{ type: string }> = [];
      ws.on('message', (data, binary) => (binary ? out.push(data as Buffer) : controls.push(JSON.parse(String(data)) as { type: string })));
      ws.once('open', () => resolve({ ws, text: () => Buffer.concat(out).toString(), controls }));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => reject(new Error(`${res.statusCode} ${body}`)));
      });
      ws.once('error', reject);
      closers.push(() => ws.terminate());
    });
  }

  test('the first viewer opens it, output and input flow, the last one leaving closes it', async () => {
    const web = lab1.byName('theirs');
    web.echo = true;
    await expect(viewer('lab1/theirs')).rejects.toThrow(/409 .*not-running/);
    await client.start('lab1/theirs');
    const a = await viewer('lab1/theirs');
    await until(() => a.controls.some((c) => c.type === 'hello'));
    expect(a.controls[0]).toMatchObject({ type: 'hello', name: 'lab1/theirs', role: 'writer' });
    lab1.consoleOutput(web, 'login: ');
    await until(() => a.text().includes('login: '));
    a.ws.send(Buffer.from('root\r'), { binary: true });
    await until(() => a.text().includes('root\r'), 3_000, 'the echo');
    expect(Buffer.concat(web.consoleInput).toString()).toBe('root\r');
    const b = await viewer('lab1/theirs');
    await until(() => b.controls.some((c) => c.type === 'hello'));
    expect(b.controls[0]).toMatchObject({ role: 'reader', viewers: 2 });
    // One libvirt stream for both viewers.
    expect(lab1.calls.filter((c) => c.startsWith('openConsole'))).toHaveLength(1);
    // The log route reads the relay's log.
    const log = await new Promise<string>((resolve) =>
      http.get({ socketPath: sock, path: `/api/vms/${encodeURIComponent('lab1/theirs')}/log` }, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve(t));
      }),
    );
    expect(log).toMatch(/-- bento: boot 1, .* --\r\nlogin: root\r/);
    a.ws.close();
    b.ws.close();
    await until(() => !lab1.consoles.has(web.uuid), 3_000, 'the stream to close');
    expect(fs.existsSync(path.join(hosts.get('lab1/theirs').dir, 'console.sock'))).toBe(false);
  });

  test('held by another client: refused with a hint; force=1 takes it; the domain stopping tells the viewer', async () => {
    const web = lab1.byName('theirs');
    await client.start('lab1/theirs');
    const other = await fake.open('test:///lab1');
    await other.openConsole(web.uuid, { onData: () => undefined, onEnd: () => undefined });
    await expect(viewer('lab1/theirs')).rejects.toThrow(/409 .*busy.*--force/);
    const v = await viewer('lab1/theirs', '&force=1');
    await until(() => v.controls.some((c) => c.type === 'hello'));
    const closed = new Promise<void>((r) => v.ws.on('close', () => r()));
    lab1.setState(web, STATE.SHUTOFF, 1, EVENT.STOPPED, 0);
    await closed;
    expect(v.controls.at(-1)).toMatchObject({ type: 'closed', reason: expect.stringMatching(/lab1\/theirs/) });
  });
});



