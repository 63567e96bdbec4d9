// The host registry: hosts kept in the preferences store, dispatch by HOST/VM, merged lists and
// events, refusals of local-only actions, and hosts that never wait on each other (fake libvirt).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { FakeLibvirt, EVENT, STATE } from '../../test/helpers/fake-libvirt.js';
import { LibvirtHost } from './drivers/libvirt/host.js';
import { BentoError } from './errors.js';
import { HostRegistry, memoryHostsStore, type HostEntry, type HostsStore, type LocalEngine } from './hosts.js';
import type { HostEvent, StateEvent, Vm, VmChange } from './types.js';

/** A local engine with fixed VMs that records calls (the real one is VmManager, tested on its own). */
class FakeLocal implements LocalEngine {
  calls: string[] = [];
  vms: Vm[] = [];
  private readonly states = new Set<(ev: StateEvent) => void>();
  private readonly changes = new Set<(ev: VmChange) => void>();
  list = (): Vm[] => this.vms;
  count = (): number => this.vms.length;
  get = (name: string): Vm => {
    const vm = this.vms.find((v) => v.name === name);
    if (!vm) throw new BentoError('not-found', `no VM named "${name}"`);
    return vm;
  };
  private act = async (what: string, name: string): Promise<Vm> => {
    this.calls.push(`${what} ${name}`);
    return this.get(name);
  };
  create = async (body: unknown): Promise<Vm> => {
    this.calls.push(`create ${JSON.stringify(body)}`);
    return this.vms[0]!;
  };
  start = (n: string) => this.act('start', n);
  stop = (n: string) => this.act('stop', n);
  pause = (n: string) => this.act('pause', n);
  resume = (n: string) => this.act('resume', n);
  restart = (n: string) => this.act('restart', n);
  remove = async (n: string) => void (await this.act('remove', n));
  inspect = async (n: string) => ({ ...(await this.act('inspect', n)) });
  consoleEndpoint = () => null;
  onState = (l: (ev: StateEvent) => void) => (this.states.add(l), () => void this.states.delete(l));
  onChange = (l: (ev: VmChange) => void) => (this.changes.add(l), () => void this.changes.delete(l));
  push(ev: StateEvent): void {
    for (const l of this.states) l(ev);
  }
}

const localVm = (name: string): Vm => ({ name, backend: 'qemu', state: 'stopped', host: 'local', reachable: true, libvirt: null }) as Vm;

let home: string;
let fake: FakeLibvirt;
let local: FakeLocal;
let registry: HostRegistry;
let log: string[];

async function until(cond: () => boolean, ms = 2_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

function makeRegistry(store: HostsStore, callTimeoutMs = 1_000): HostRegistry {
  return new HostRegistry({
    local,
    store,
    log: (l) => log.push(l),
    makeHost: (e: HostEntry) => new LibvirtHost({ ...e, home, binding: fake, log: (l) => log.push(l), callTimeoutMs, backoff: { firstMs: 20, maxMs: 40 } }),
  });
}

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-hosts-'));
  fake = new FakeLibvirt();
  local = new FakeLocal();
  local.vms = [localVm('web')];
  log = [];
});
afterEach(async () => {
  await registry?.close();
  fs.rmSync(home, { recursive: true, force: true });
});

describe('hosts', () => {
  test('init connects the stored hosts in the background and skips broken entries', async () => {
    fake.daemon('test:///a').define({ name: 'db' });
    registry = makeRegistry(memoryHostsStore([{ name: 'lab1', uri: 'test:///a' }, { name: 'BAD', uri: 'test:///b' }, { name: 'lab2', uri: 'user:pw@x' }]));
    registry.init();
    expect(registry.hosts().map((h) => [h.name, h.state])).toEqual([
      ['local', 'connected'],
      ['lab1', 'connecting'],
    ]);
    expect(log.filter((l) => l.includes('skipped'))).toHaveLength(2);
    await until(() => registry.hostInfo('lab1').state === 'connected');
    expect(registry.list().map((v) => v.name)).toEqual(['web', 'lab1/db']);
    expect(registry.hosts()[0]).toMatchObject({ name: 'local', kind: 'local', uri: null, reason: null, retryAt: null, vms: 1 });
  });

  test('add: checked, kept before connecting, connecting at once; duplicates and passwords refused', async () => {
    const kept: string[] = [];
    const mem = memoryHostsStore();
    const store: HostsStore = { ...mem, add: (e) => (kept.push(`${e.name} opens=${fake.opens.length}`), mem.add(e)) };
    registry = makeRegistry(store);
    registry.init();
    const events: HostEvent[] = [];
    registry.onHost((ev) => events.push(ev));
    const info = registry.addHost({ name: 'lab1', uri: 'qemu+tcp://127.0.0.1/system' });
    expect(info).toMatchObject({ name: 'lab1', kind: 'libvirt', state: 'connecting', vms: 0 });
    expect(kept).toEqual(['lab1 opens=0']);
    expect(mem.list()).toEqual([{ name: 'lab1', uri: 'qemu+tcp://127.0.0.1/system' }]);
    expect(events[0]).toMatchObject({ kind: 'changed', host: { name: 'lab1' } });
    await until(() => registry.hostInfo('lab1').state === 'connected');
    const refuse = (body: unknown): BentoError => {
      try {
        registry.addHost(body);
      } catch (e) {
        return e as BentoError;
      }
      throw new Error('expected a refusal');
    };
    expect(refuse({ name: 'lab1', uri: 'test:///other' })).toMatchObject({ code: 'already-exists' });
    expect(refuse({ name: 'lab2', uri: 'qemu+tcp://127.0.0.1/system' })).toMatchObject({ code: 'already-exists' });
    expect(refuse({ name: 'local', uri: 'test:///x' }).fields).toEqual([{ field: 'name', message: expect.stringMatching(/reserved/) }]);
    expect(refuse({ name: 'Lab 3', uri: 'test:///x' }).fields?.[0]?.field).toBe('name');
    const pw = refuse({ name: 'lab3', uri: 'qemu+ssh://root:hunter2@host/system' });
    expect(pw.fields).toEqual([{ field: 'uri', message: expect.stringMatching(/password.*SSH agent, TLS certificates or SASL/) }]);
    expect(pw.message).not.toContain('hunter2');
    expect(refuse({ name: 'lab3', uri: 'not a uri' }).fields?.[0]?.field).toBe('uri');
    expect(refuse({ name: 'lab3', uri: 'test:///x', extra: 1 }).code).toBe('invalid-input');
    expect(mem.list()).toHaveLength(1);
  });

  test('remove: forgotten, closed, its VMs deleted from the list; the domains stay; local cannot go', async () => {
    const d = fake.daemon('test:///a');
    d.define({ name: 'db' });
    const store = memoryHostsStore([{ name: 'lab1', uri: 'test:///a' }]);
    registry = makeRegistry(store);
    registry.init();
    await until(() => registry.hostInfo('lab1').state === 'connected');
    const changes: VmChange[] = [];
    const hostEvents: HostEvent[] = [];
    registry.onChange((ev) => changes.push(ev));
    registry.onHost((ev) => hostEvents.push(ev));
    await registry.removeHost('lab1');
    expect(changes).toEqual([{ kind: 'deleted', name: 'lab1/db' }]);
    expect(hostEvents).toEqual([{ kind: 'removed', name: 'lab1' }]);
    expect(store.list()).toEqual([]);
    expect(d.connections.size).toBe(0);
    expect(d.domains.size).toBe(1);
    expect(registry.list().map((v) => v.name)).toEqual(['web']);
    await expect(registry.removeHost('lab1')).rejects.toMatchObject({ code: 'not-found' });
    await expect(registry.removeHost('local')).rejects.toMatchObject({ code: 'invalid-input' });
    // Its events no longer arrive.
    d.setState(d.byName('db'), STATE.RUNNING, 1, EVENT.STARTED, 0);
    await new Promise((r) => setTimeout(r, 20));
    expect(changes).toHaveLength(1);
  });
});

describe('VMs', () => {
  beforeEach(async () => {
    fake.daemon('test:///a').define({ name: 'db' });
    registry = makeRegistry(memoryHostsStore([{ name: 'lab1', uri: 'test:///a' }]));
    registry.init();
    await until(() => registry.hostInfo('lab1').state === 'connected');
  });

  test('names lead to their host; local/NAME is the local NAME; an unknown host is not-found', async () => {
    expect(registry.get('web').name).toBe('web');
    expect(registry.get('local/web').name).toBe('web');
    expect(registry.get('lab1/db')).toMatchObject({ name: 'lab1/db', host: 'lab1', backend: 'libvirt' });
    expect(() => registry.get('lab9/db')).toThrow(/no host named "lab9"/);
    expect(() => registry.get('lab1/nope')).toThrow(/no VM named "lab1\/nope"/);
    await registry.start('local/web');
    expect(local.calls).toEqual(['start web']);
    expect((await registry.start('lab1/db')).state).toBe('running');
    const vm = await registry.create({ name: 'lab1/new', cpus: 1, kernel: '/boot/vmlinuz' });
    expect(vm.name).toBe('lab1/new');
    await registry.create({ name: 'local/x' });
    expect(local.calls.at(-1)).toBe('create {"name":"x"}');
    // No such host: the local engine's name rule refuses it, with the request's other field errors.
    await registry.create({ name: 'lab9/x', cpus: 0 });
    expect(local.calls.at(-1)).toBe('create {"name":"lab9/x","cpus":0}');
  });

  test('state and change events of every host arrive merged', async () => {
    const states: StateEvent[] = [];
    registry.onState((ev) => states.push(ev));
    local.push({ name: 'web', state: 'running', previous: 'stopped', reason: null, at: '' });
    await registry.start('lab1/db');
    expect(states.map((s) => `${s.name} ${s.state}`)).toEqual(['web running', 'lab1/db starting', 'lab1/db running']);
  });

  test('local-only actions on a libvirt VM are refused naming the host; a local VM passes', () => {
    expect(registry.localName('web', 'snapshot')).toBe('web');
    expect(registry.localName('local/web', 'clone')).toBe('web');
    expect(() => registry.localName('lab1/db', 'snapshot')).toThrow(/lab1\/db: snapshots is not available for VMs on libvirt hosts \(host lab1\)/);
    let code: string | null = null;
    try {
      registry.localName('lab1/db', 'suspend');
    } catch (e) {
      code = (e as BentoError).code;
    }
    expect(code).toBe('unsupported');
  });

  test('a hung host delays neither the list nor another host', async () => {
    fake.daemon('test:///b').define({ name: 'cache' });
    registry.addHost({ name: 'lab2', uri: 'test:///b' });
    await until(() => registry.hostInfo('lab2').state === 'connected');
    fake.daemon('test:///a').frozen = true;
    const hung = registry.start('lab1/db');
    const t0 = Date.now();
    expect(registry.list().map((v) => v.name)).toEqual(['web', 'lab1/db', 'lab2/cache']);
    await registry.start('lab2/cache');
    await registry.pause('lab2/cache');
    expect(Date.now() - t0).toBeLessThan(200);
    await expect(hung).rejects.toMatchObject({ code: 'timeout' });
    fake.daemon('test:///a').thaw();
  });

  test('a host whose connect hangs leaves the others connecting and connected', async () => {
    const slow = fake.daemon('test:///slow');
    slow.frozen = true;
    registry.addHost({ name: 'slow', uri: 'test:///slow' });
    fake.daemon('test:///c').define({ name: 'x' });
    registry.addHost({ name: 'lab3', uri: 'test:///c' });
    await until(() => registry.hostInfo('lab3').state === 'connected', 500);
    expect(registry.hostInfo('slow').state).toBe('connecting');
    slow.thaw();
  });
});
