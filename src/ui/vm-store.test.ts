import { afterEach, describe, expect, test } from 'vitest';
import { BentoError } from '../vm/errors.js';
import { FakeClient, fakeHost, fakeVm } from './fake-client.js';
import type { ImageProgress } from './image-api.js';
import type { VmState } from '../vm/types.js';
import { createVmStore, needsRefresh, type VmStore } from './vm-store.js';

const settle = (ms = 10): Promise<void> => new Promise((r) => setTimeout(r, ms));
let store: VmStore | null = null;
afterEach(() => store?.dispose());

test('the snapshot fills the store; an event applies at once, then the VM is re-read', async () => {
  const client = new FakeClient([fakeVm('a'), fakeVm('b')]);
  store = createVmStore(client);
  let changes = 0;
  store.subscribe(() => changes++);
  store.start();
  await settle();
  expect(store.getState().loaded).toBe(true);
  expect(store.getState().conn.status).toBe('live');
  expect([...store.getState().vms.keys()]).toEqual(['a', 'b']);
  const before = changes;
  client.vms.set('a', { ...client.vms.get('a')!, state: 'running', pid: 7, startedAt: '2024-01-01T00:00:00Z' });
  client.emit({ name: 'a', state: 'running', previous: 'stopped', reason: null, at: '' });
  // Applied synchronously from the event, before any request.
  expect(store.getState().vms.get('a')!.state).toBe('running');
  expect(changes).toBe(before + 1);
  await settle();
  expect(store.getState().vms.get('a')!.pid).toBe(7);
  expect(client.calls.filter((c) => c.method === 'get')).toHaveLength(1);
});

test('an event for an unknown VM adds it; a re-read that finds nothing removes it', async () => {
  const client = new FakeClient([fakeVm('a')]);
  store = createVmStore(client);
  store.start();
  await settle();
  client.vms.set('made-elsewhere', fakeVm('made-elsewhere', { state: 'running' }));
  client.emit({ name: 'made-elsewhere', state: 'running', previous: 'stopped', reason: null, at: '' });
  await settle();
  expect(store.getState().vms.has('made-elsewhere')).toBe(true);
  client.vms.delete('a');
  client.emit({ name: 'a', state: 'stopping', previous: 'running', reason: null, at: '' });
  await settle();
  expect(store.getState().vms.has('a')).toBe(false);
});

test('when the stream ends the store says so and reconnects with a fresh snapshot', async () => {
  const client = new FakeClient([fakeVm('a')]);
  store = createVmStore(client, { minMs: 20, maxMs: 40 });
  store.start();
  await settle();
  client.failures.set('events', new BentoError('daemon-unavailable', 'cannot reach bentod'));
  client.end();
  const lost = store.getState().conn;
  expect(lost.status).toBe('lost');
  // The VMs stay on screen while bentod is away.
  expect(store.getState().vms.size).toBe(1);
  client.vms.set('b', fakeVm('b'));
  await settle(120);
  expect(store.getState().conn.status).toBe('live');
  expect([...store.getState().vms.keys()].sort()).toEqual(['a', 'b']);
  expect(client.calls.filter((c) => c.method === 'events').length).toBe(3);
});

test('pause and resume need no request; a new run, a stop deadline and unknown VMs do', () => {
  const running = fakeVm('a', { state: 'running', pid: 1, startedAt: 'x' });
  const ev = (state: VmState, previous: VmState) => ({ name: 'a', state, previous, reason: null, at: '' });
  expect(needsRefresh(running, ev('pausing', 'running'))).toBe(false);
  expect(needsRefresh(running, ev('paused', 'pausing'))).toBe(false);
  expect(needsRefresh(running, ev('stopped', 'running'))).toBe(false);
  expect(needsRefresh(running, ev('stopping', 'running'))).toBe(true);
  expect(needsRefresh(fakeVm('a'), ev('running', 'starting'))).toBe(true);
  expect(needsRefresh(undefined, ev('running', 'stopped'))).toBe(true);
});

test('dispose closes the stream and stops reconnecting', async () => {
  const client = new FakeClient([fakeVm('a')]);
  store = createVmStore(client, { minMs: 10, maxMs: 10 });
  store.start();
  await settle();
  expect(client.subscriberCount()).toBe(1);
  store.dispose();
  expect(client.subscriberCount()).toBe(0);
  client.end();
  await settle(40);
  expect(client.calls.filter((c) => c.method === 'events').length).toBe(1);
});

test('definitions created, changed and deleted by any client arrive as change events', async () => {
  const client = new FakeClient([fakeVm('a')]);
  store = createVmStore(client);
  store.start();
  await settle();
  await client.create({ name: 'from-a-script' });
  expect(store.getState().vms.has('from-a-script')).toBe(true);
  await client.patch('from-a-script', { cpus: 2 });
  expect(store.getState().vms.get('from-a-script')!.cpus).toBe(2);
  await client.remove('from-a-script');
  expect(store.getState().vms.has('from-a-script')).toBe(false);
  expect(client.calls.filter((c) => c.method === 'get')).toHaveLength(0);
});

test('a resync from bentod (events were dropped) re-reads the whole list', async () => {
  const client = new FakeClient([fakeVm('a'), fakeVm('b')]);
  store = createVmStore(client);
  store.start();
  await settle();
  // Changes the store never heard about, as if their events were dropped for a slow reader.
  client.vms.delete('a');
  client.vms.set('c', fakeVm('c', { state: 'running' }));
  client.vms.set('b', { ...client.vms.get('b')!, cpus: 3 });
  client.resync();
  await settle();
  expect([...store.getState().vms.keys()].sort()).toEqual(['b', 'c']);
  expect(store.getState().vms.get('b')!.cpus).toBe(3);
  expect(store.getState().conn.status).toBe('live');
});

describe('pulls for VMs not defined yet', () => {
  const progress = (over: Partial<ImageProgress>): ImageProgress => ({
    ref: 'debian-12',
    phase: 'download',
    received: 0,
    total: 100,
    bytesPerSec: 10,
    etaSeconds: 10,
    ...over,
  });

  test('progress naming a new VM makes a row that follows the pull; the VM being defined replaces it', async () => {
    const client = new FakeClient([fakeVm('a')]);
    store = createVmStore(client);
    store.start();
    await settle();
    client.emitImage(progress({ vm: 'web', phase: 'checksum', total: null, etaSeconds: null }));
    expect(store.getState().pulls.get('web')).toMatchObject({ name: 'web', ref: 'debian-12', phase: 'checksum' });
    client.emitImage(progress({ vm: 'web', received: 42 }));
    client.emitImage(progress({ vm: 'web', received: 50 }));
    expect(store.getState().pulls.get('web')).toMatchObject({ phase: 'download', received: 50, total: 100 });
    client.emitImage(progress({ vm: 'web', phase: 'done', received: 100, etaSeconds: 0 }));
    expect(store.getState().pulls.get('web')!.phase).toBe('done');
    // Not mixed into the VMs.
    expect([...store.getState().vms.keys()]).toEqual(['a']);
    await client.create({ name: 'web', image: 'debian-12' });
    expect(store.getState().vms.has('web')).toBe(true);
    expect(store.getState().pulls.size).toBe(0);
  });

  test('download progress is drawn at most every 100 ms', async () => {
    const client = new FakeClient([]);
    store = createVmStore(client);
    store.start();
    await settle();
    let changes = 0;
    store.subscribe(() => changes++);
    for (let i = 1; i <= 20; i++) client.emitImage(progress({ vm: 'web', received: i }));
    expect(store.getState().pulls.get('web')!.received).toBe(20);
    await settle(150);
    expect(changes).toBe(1);
  });

  test('a failed pull started elsewhere drops its row and is reported once', async () => {
    const client = new FakeClient([]);
    store = createVmStore(client);
    store.start();
    await settle();
    client.emitImage(progress({ vm: 'web' }));
    client.emitImage(progress({ vm: 'web', phase: 'error', error: 'checksum mismatch' }));
    expect(store.getState().pulls.size).toBe(0);
    expect(store.getState().pullError).toEqual({ name: 'web', ref: 'debian-12', message: 'checksum mismatch' });
  });

  test('progress for no VM, or for a VM that exists, is no row; a pull this TUI tracks matches by ref', async () => {
    const client = new FakeClient([fakeVm('a')]);
    store = createVmStore(client);
    store.start();
    await settle();
    client.emitImage(progress({}));
    client.emitImage(progress({ vm: 'a' }));
    expect(store.getState().pulls.size).toBe(0);
    store.trackPull('web', 'ubuntu-24.04');
    expect(store.getState().pulls.get('web')).toMatchObject({ ref: 'ubuntu-24.04', phase: 'checksum' });
    client.emitImage(progress({ ref: 'ubuntu-24.04', received: 7 }));
    expect(store.getState().pulls.get('web')!.received).toBe(7);
    // Its own failure is the TUI's to report: no pullError.
    client.emitImage(progress({ ref: 'ubuntu-24.04', phase: 'error', error: 'gone' }));
    expect(store.getState().pulls.size).toBe(0);
    expect(store.getState().pullError).toBeNull();
    store.trackPull('db', 'debian-12');
    store.endPull('db');
    expect(store.getState().pulls.size).toBe(0);
  });

  test("a finished pull from elsewhere whose VM never comes goes after a while; a lost bentod takes other clients' pulls along", async () => {
    const client = new FakeClient([]);
    store = createVmStore(client, { minMs: 1000, maxMs: 1000 }, { pullLingerMs: 30 });
    store.start();
    await settle();
    client.emitImage(progress({ vm: 'web', phase: 'done' }));
    expect(store.getState().pulls.has('web')).toBe(true);
    await settle(60);
    expect(store.getState().pulls.has('web')).toBe(false);
    client.emitImage(progress({ vm: 'db' }));
    store.trackPull('mine', 'fedora-41');
    client.end();
    expect(store.getState().conn.status).toBe('lost');
    expect([...store.getState().pulls.keys()]).toEqual(['mine']);
  });
});

test('an event that carries the whole VM is applied as is: no request follows', async () => {
  const client = new FakeClient([fakeVm('a')]);
  store = createVmStore(client);
  store.start();
  await settle();
  const vm = fakeVm('a', { state: 'running', pid: 9, startedAt: '2024-01-01T00:00:00Z' });
  client.emit({ name: 'a', state: 'running', previous: 'starting', reason: null, at: '', vm });
  expect(store.getState().vms.get('a')!.pid).toBe(9);
  // A new VM too, and a stopping one (whose deadline used to need a re-read).
  client.emit({ name: 'b', state: 'stopping', previous: 'running', reason: null, at: '', vm: fakeVm('b', { state: 'stopping', stopDeadline: '2024-01-01T00:00:30Z' }) });
  expect(store.getState().vms.get('b')!.stopDeadline).toBe('2024-01-01T00:00:30Z');
  await settle();
  expect(client.calls.filter((c) => c.method === 'get')).toHaveLength(0);
});

describe('hosts', () => {
  test('read with the stream; a host event that comes while the read is on its way wins over the older reply', async () => {
    const client = new FakeClient([fakeVm('a')], [fakeHost('lab1', { state: 'connecting' })]);
    // The reply is held back until the test lets it go.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const real = client.hosts.bind(client);
    client.hosts = async () => {
      const list = await real();
      await gate;
      return list;
    };
    store = createVmStore(client);
    store.start();
    await settle();
    expect(store.getState().hosts.size).toBe(0);
    client.setHost(fakeHost('lab1', { state: 'connected' }));
    client.setHost(fakeHost('lab2', { state: 'unreachable', reason: 'x' }));
    expect(store.getState().hosts.get('lab1')!.state).toBe('connected');
    release();
    await settle();
    const hosts = store.getState().hosts;
    expect([...hosts.keys()].sort()).toEqual(['lab1', 'lab2', 'local']);
    expect(hosts.get('lab1')!.state).toBe('connected');
    client.emitHost({ kind: 'removed', name: 'lab2' });
    expect(store.getState().hosts.has('lab2')).toBe(false);
  });

  test('a bentod without /api/hosts leaves the host list empty and the VMs in place', async () => {
    const client = new FakeClient([fakeVm('a')]);
    client.failures.set('hosts', new BentoError('not-found', 'no route GET /api/hosts'));
    store = createVmStore(client);
    store.start();
    await settle();
    expect(store.getState().hosts.size).toBe(0);
    expect([...store.getState().vms.keys()]).toEqual(['a']);
    expect(store.getState().conn.status).toBe('live');
  });
});
