// The libvirt host engine against the fake binding (test/helpers/fake-libvirt.ts): connection states,
// backoff and reconnect with a diff, events into states, timeouts, operations and their refusals.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { EVENT, FakeLibvirt, libvirtError, STATE, type FakeLibvirtd } from '../../../../test/helpers/fake-libvirt.js';
import type { BentoError } from '../../errors.js';
import type { HostInfo, StateEvent, VmChange } from '../../types.js';
import { buildDomainXml, escapeXmlText } from './domain-xml.js';
import { libvirtSpecFromRequest, specToMetadata } from './libvirt-spec.js';
import { daemonUri, LibvirtHost, lostReason, type LibvirtHostOptions } from './host.js';

const URI = 'qemu+tcp://lab1/system';
let home: string;
let fake: FakeLibvirt;
let daemon: FakeLibvirtd;
const hosts: LibvirtHost[] = [];

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-lvhost-'));
  fake = new FakeLibvirt();
  daemon = fake.daemon(URI);
});
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
  fs.rmSync(home, { recursive: true, force: true });
});

/** A host on the fake, with short timings, recording everything it pushes. */
function makeHost(over: Partial<LibvirtHostOptions> = {}): { host: LibvirtHost; states: StateEvent[]; changes: VmChange[]; infos: HostInfo[]; log: string[] } {
  const log: string[] = [];
  const host = new LibvirtHost({ name: 'lab1', uri: URI, home, binding: fake, log: (l) => log.push(l), backoff: { firstMs: 20, maxMs: 80 }, callTimeoutMs: 1_000, ...over });
  hosts.push(host);
  const states: StateEvent[] = [];
  const changes: VmChange[] = [];
  const infos: HostInfo[] = [];
  host.onState((ev) => states.push(ev));
  host.onChange((ev) => changes.push(ev));
  host.onHost((i) => infos.push(i));
  return { host, states, changes, infos, log };
}

async function until(cond: () => boolean, ms = 2_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function connected(h: LibvirtHost): Promise<void> {
  h.connect();
  await until(() => h.info().state === 'connected', 2_000, 'connected');
}

/** A bento-made domain's XML, and its metadata as virDomainGetMetadata returns it (`<vm>…</vm>`). */
const bentoSpec = (name: string) => libvirtSpecFromRequest({ name, cpus: 2, kernel: '/boot/vmlinuz' });
const bentoXml = (name: string): string => buildDomainXml(bentoSpec(name), { domainType: 'kvm' });
const bentoMeta = (name: string): string => `<vm>${escapeXmlText(specToMetadata(bentoSpec(name)))}</vm>`;

function errorOf(p: Promise<unknown>): Promise<BentoError> {
  return p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as BentoError,
  );
}

describe('connection', () => {
  test('connects in the background and lists every domain, foreign ones included', async () => {
    daemon.define({ name: 'foreign1', vcpus: 2, maxMemKiB: 1024 * 1024 });
    const web = daemon.define({ name: 'web', xml: bentoXml('web') });
    web.metadata = bentoMeta('web');
    const { host, changes, infos } = makeHost();
    expect(host.info()).toMatchObject({ name: 'lab1', kind: 'libvirt', uri: URI, state: 'connecting', vms: 0 });
    await connected(host);
    expect(infos.map((i) => i.state)).toEqual(expect.arrayContaining(['connected']));
    expect(host.list().map((v) => v.name)).toEqual(['lab1/foreign1', 'lab1/web']);
    const f = host.get('foreign1');
    expect(f).toMatchObject({ backend: 'libvirt', host: 'lab1', reachable: true, state: 'stopped', cpus: 2, memoryMiB: 1024, pid: null, accel: 'tcg', ssh: null });
    expect(f.libvirt).toMatchObject({ uri: URI, domain: 'foreign1', foreign: true, persistent: true, id: null });
    expect(f.dir).toBe(path.join(home, 'hosts', 'lab1', `foreign1-${f.libvirt!.uuid}`));
    expect(f.spec).toMatchObject({ name: 'foreign1', backend: 'libvirt', kernel: null, disks: [] });
    expect(host.get('web').libvirt!.foreign).toBe(false);
    expect(host.get('web').accel).toBe('kvm');
    expect(changes.filter((c) => c.kind === 'created').map((c) => c.name).sort()).toEqual(['lab1/foreign1', 'lab1/web']);
    expect(host.info().vms).toBe(2);
    expect(fake.opens).toEqual([URI]);
  });

  test('a refused connection is unreachable with the reason and retried with backoff doubling to the cap', async () => {
    daemon.down = true;
    const { host, infos } = makeHost();
    host.connect();
    await until(() => fake.opens.length >= 5, 3_000, 'five attempts');
    const unreachable = infos.filter((i) => i.state === 'unreachable');
    expect(unreachable[0]!.reason).toMatch(/Connection refused/);
    const waits = unreachable.slice(0, 4).map((i) => Date.parse(i.retryAt!) - Date.parse(i.since));
    // 20, 40, 80, 80 ms (a few ms of slack for the clock between the two readings).
    expect(waits.map((w) => Math.round(w / 20) * 20)).toEqual([20, 40, 80, 80]);
    expect(infos.some((i) => i.state === 'reconnecting')).toBe(true);
    daemon.revive();
    await until(() => host.info().state === 'connected');
    expect(host.info()).toMatchObject({ reason: null, retryAt: null });
  });

  test('a lost connection makes the host unreachable at once, and reconnecting diffs the domains', async () => {
    const a = daemon.define({ name: 'a' });
    const b = daemon.define({ name: 'b' });
    const { host, states, changes } = makeHost({ backoff: { firstMs: 50, maxMs: 100 } });
    await connected(host);
    changes.length = 0;
    daemon.kill('keepalive');
    await until(() => host.info().state === 'unreachable');
    expect(host.info().reason).toMatch(/keepalive/);
    expect(host.list().every((v) => v.reachable === false)).toBe(true);
    expect(changes.filter((c) => c.kind === 'changed' && !c.vm.reachable).map((c) => c.name).sort()).toEqual(['lab1/a', 'lab1/b']);
    // What happens while bento is away: b goes, c comes, a starts.
    daemon.domains.delete(b.uuid);
    daemon.define({ name: 'c' });
    a.state = STATE.RUNNING;
    a.id = 7;
    changes.length = 0;
    daemon.revive();
    await until(() => host.info().state === 'connected');
    expect(changes.find((c) => c.kind === 'deleted')?.name).toBe('lab1/b');
    expect(changes.find((c) => c.kind === 'created')?.name).toBe('lab1/c');
    expect(states.find((s) => s.name === 'lab1/a')).toMatchObject({ previous: 'stopped', state: 'running' });
    expect(host.list().map((v) => [v.name, v.state, v.reachable])).toEqual([
      ['lab1/a', 'running', true],
      ['lab1/c', 'stopped', true],
    ]);
    expect(host.get('a').libvirt!.id).toBe(7);
  });

  test('a connection that fails while listing is unreachable with libvirt\'s own message', async () => {
    daemon.failNext('listDomains', libvirtError('VIR_ERR_RPC', 39, 'cannot recv data: Connection reset by peer'));
    const { host, infos } = makeHost();
    host.connect();
    await until(() => infos.some((i) => i.state === 'unreachable'));
    expect(infos.find((i) => i.state === 'unreachable')!.reason).toBe('cannot recv data: Connection reset by peer');
    // The half-open connection was closed; the retry connects.
    await until(() => host.info().state === 'connected');
    expect(daemon.connections.size).toBe(1);
  });

  test('without the binding the host is unreachable with the reason and never retries', () => {
    const { host } = makeHost({ binding: { unavailable: 'libvirt-dev was not installed at build' } });
    host.connect();
    expect(host.info()).toMatchObject({ state: 'unreachable', retryAt: null });
    expect(host.info().reason).toMatch(/libvirt backend is unavailable: libvirt-dev/);
  });

  test('an open that hangs past the connect timeout is unreachable, and the late connection is closed', async () => {
    daemon.frozen = true;
    const { host } = makeHost({ connectTimeoutMs: 60 });
    host.connect();
    await until(() => host.info().state === 'unreachable', 1_000);
    expect(host.info().reason).toMatch(/did not finish within 0.06 s/);
    daemon.frozen = false;
    daemon.thaw();
    await until(() => host.info().state === 'connected');
    // Only the connection of the successful attempt stays open.
    expect(daemon.connections.size).toBe(1);
  });
});

describe('events', () => {
  test('a suspend done outside bento shows as paused from the event, before any lookup answers', async () => {
    const web = daemon.define({ name: 'web' });
    const { host, states } = makeHost();
    await connected(host);
    web.state = STATE.RUNNING;
    web.id = 3;
    daemon.setState(web, STATE.RUNNING, 1, EVENT.STARTED, 0);
    await until(() => host.get('web').state === 'running');
    expect(host.get('web').startedAt).not.toBeNull();
    daemon.frozen = true; // the confirming lookup hangs: the event alone moves the state
    daemon.setState(web, STATE.PAUSED, 1, EVENT.SUSPENDED, 0);
    await until(() => host.get('web').state === 'paused', 500, 'paused from the event');
    expect(states.at(-1)).toMatchObject({ name: 'lab1/web', previous: 'running', state: 'paused' });
    expect(states.at(-1)!.vm).toMatchObject({ name: 'lab1/web', state: 'paused' });
    daemon.thaw();
  });

  test('a lookup that answers after a newer event does not overwrite it', async () => {
    const web = daemon.define({ name: 'web' });
    const { host, states } = makeHost();
    await connected(host);
    daemon.setState(web, STATE.RUNNING, 1, EVENT.STARTED, 0);
    await until(() => host.get('web').state === 'running');
    await new Promise((r) => setTimeout(r, 20));
    daemon.frozen = true;
    // The confirming lookup reads "paused" now and answers only after the thaw.
    daemon.setState(web, STATE.PAUSED, 1, EVENT.SUSPENDED, 0);
    await until(() => host.get('web').state === 'paused');
    await until(() => daemon.calls.at(-1) === `lookup ${web.uuid}`, 500, 'the held lookup');
    daemon.setState(web, STATE.RUNNING, 5, EVENT.RESUMED, 0);
    await until(() => host.get('web').state === 'running');
    const mark = states.length;
    daemon.thaw();
    await until(() => daemon.calls.filter((c) => c === `lookup ${web.uuid}`).length >= 3, 500, 'the second lookup');
    await new Promise((r) => setTimeout(r, 20));
    // The stale "paused" answer was not shown again.
    expect(states.slice(mark).map((s) => s.state)).toEqual([]);
    expect(host.get('web').state).toBe('running');
  });

  test('domains defined, started as transient and undefined outside bento come and go without a refresh', async () => {
    const { host, changes } = makeHost();
    await connected(host);
    const d = daemon.define({ name: 'later' });
    await until(() => changes.some((c) => c.kind === 'created' && c.name === 'lab1/later'));
    const t = daemon.define({ name: 'temp', persistent: false });
    daemon.setState(t, STATE.RUNNING, 1, EVENT.STARTED, 0);
    await until(() => host.list().some((v) => v.name === 'lab1/temp' && v.state === 'running'));
    expect(host.get('temp').libvirt!.persistent).toBe(false);
    daemon.setState(t, STATE.SHUTOFF, 1, EVENT.STOPPED, 0);
    await until(() => changes.some((c) => c.kind === 'deleted' && c.name === 'lab1/temp'));
    daemon.domains.delete(d.uuid);
    daemon.emit(d, EVENT.UNDEFINED, 0);
    await until(() => changes.some((c) => c.kind === 'deleted' && c.name === 'lab1/later'));
    expect(host.list()).toEqual([]);
  });

  test('a rename outside bento is a deletion and a creation', async () => {
    const d = daemon.define({ name: 'old' });
    const { host, changes } = makeHost();
    await connected(host);
    d.name = 'new';
    daemon.emit(d, EVENT.DEFINED, 2);
    await until(() => changes.some((c) => c.kind === 'created' && c.name === 'lab1/new'));
    expect(changes.some((c) => c.kind === 'deleted' && c.name === 'lab1/old')).toBe(true);
    expect(host.list().map((v) => v.name)).toEqual(['lab1/new']);
  });
});

describe('operations', () => {
  test('create defines the built XML; the VM is bento\'s own and its name is taken', async () => {
    const { host, changes } = makeHost();
    await connected(host);
    const vm = await host.create({ name: 'web', cpus: 2, memory: 256, kernel: '/boot/vmlinuz' });
    expect(vm).toMatchObject({ name: 'lab1/web', backend: 'libvirt', state: 'stopped', host: 'lab1' });
    expect(vm.libvirt!.foreign).toBe(false);
    expect(daemon.byName('web').xml).toContain('<name>web</name>');
    await new Promise((r) => setTimeout(r, 20));
    // One created event, whichever of defineXML's answer and the DEFINED event came first.
    expect(changes.filter((c) => c.kind === 'created' && c.name === 'lab1/web')).toHaveLength(1);
    const again = await errorOf(host.create({ name: 'web', kernel: '/boot/vmlinuz' }));
    expect(again.code).toBe('already-exists');
    expect(again.message).toContain('lab1/web');
  });

  test('start, pause, resume, restart and a graceful stop, with their states in order', async () => {
    const web = daemon.define({ name: 'web' });
    const { host, states } = makeHost();
    await connected(host);
    expect((await host.start('web')).state).toBe('running');
    expect(host.get('web').startedAt).not.toBeNull();
    expect((await host.pause('web')).state).toBe('paused');
    expect((await host.resume('web')).state).toBe('running');
    await host.restart('web');
    expect(daemon.calls).toContain(`reboot ${web.uuid}`);
    await host.restart('web', { force: true });
    expect(daemon.calls).toContain(`reset ${web.uuid}`);
    const stopped = await host.stop('web', { timeoutMs: 2_000 });
    expect(stopped.state).toBe('stopped');
    expect(daemon.calls).toContain(`shutdown ${web.uuid}`);
    expect(daemon.calls).not.toContain(`destroy ${web.uuid}`);
    const seq = states.filter((s) => s.name === 'lab1/web').map((s) => s.state);
    expect(seq).toEqual(['starting', 'running', 'pausing', 'paused', 'resuming', 'running', 'stopping', 'stopped']);
    const stopping = states.find((s) => s.state === 'stopping')!;
    expect(stopping.vm!.stopDeadline).not.toBeNull();
    expect(host.get('web').stopDeadline).toBeNull();
  });

  test('a guest that ignores the power button is destroyed after the timeout; force destroys at once', async () => {
    const web = daemon.define({ name: 'web', acpi: 'ignores' });
    const { host } = makeHost();
    await connected(host);
    await host.start('web');
    const t0 = Date.now();
    expect((await host.stop('web', { timeoutMs: 80 })).state).toBe('stopped');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);
    expect(daemon.calls.filter((c) => c === `destroy ${web.uuid}`)).toHaveLength(1);
    await host.start('web');
    expect((await host.stop('web', { force: true })).state).toBe('stopped');
    expect(daemon.calls.filter((c) => c === `destroy ${web.uuid}`)).toHaveLength(2);
  });

  test('a paused guest is resumed before it is asked to power off', async () => {
    const web = daemon.define({ name: 'web' });
    const { host } = makeHost();
    await connected(host);
    await host.start('web');
    await host.pause('web');
    await host.stop('web', { timeoutMs: 1_000 });
    const i = daemon.calls.indexOf(`resume ${web.uuid}`);
    expect(i).toBeGreaterThan(-1);
    expect(daemon.calls.indexOf(`shutdown ${web.uuid}`)).toBeGreaterThan(i);
  });

  test('rm: refused while running without force, destroys then undefines with force, removes bentod\'s folder', async () => {
    const { host, changes } = makeHost();
    await connected(host);
    const vm = await host.create({ name: 'web', kernel: '/boot/vmlinuz' });
    await host.start('web');
    fs.mkdirSync(vm.dir, { recursive: true });
    const refused = await errorOf(host.remove('web'));
    expect(refused.code).toBe('invalid-state');
    expect(refused.message).toMatch(/lab1\/web is running; stop it first or use --force/);
    expect(daemon.domains.size).toBe(1);
    await host.remove('web', { force: true });
    const calls = daemon.calls.filter((c) => /^(destroy|undefine)/.test(c));
    expect(calls).toEqual([`destroy ${vm.libvirt!.uuid}`, `undefine ${vm.libvirt!.uuid} 23`]);
    expect(daemon.domains.size).toBe(0);
    expect(fs.existsSync(vm.dir)).toBe(false);
    await new Promise((r) => setTimeout(r, 20));
    expect(changes.filter((c) => c.kind === 'deleted')).toHaveLength(1);
  });

  test('a foreign domain is started and stopped but never undefined', async () => {
    daemon.define({ name: 'theirs' });
    const { host } = makeHost();
    await connected(host);
    await host.start('theirs');
    await host.stop('theirs', { force: true });
    const e = await errorOf(host.remove('theirs', { force: true }));
    expect(e).toMatchObject({ code: 'unsupported', message: 'lab1/theirs was not created by bento; undefine it with virsh' });
    expect(daemon.calls.some((c) => c.startsWith('undefine'))).toBe(false);
  });

  test('local-only actions are refused by the table before libvirt is asked', async () => {
    daemon.define({ name: 'web' });
    const { host } = makeHost();
    await connected(host);
    const before = daemon.calls.length;
    const e = await errorOf(host.pause('web'));
    expect(e).toMatchObject({ code: 'invalid-state', message: 'only a running VM can be paused (lab1/web is stopped)' });
    expect((await errorOf(host.stop('web'))).code).toBe('not-running');
    expect((await errorOf(host.openConsole('web', { force: false }))).code).toBe('not-running');
    expect(daemon.calls.length).toBe(before);
  });

  test('libvirt errors become bento codes, prefixed with the VM name', async () => {
    const web = daemon.define({ name: 'web' });
    const { host } = makeHost();
    await connected(host);
    await host.start('web');
    daemon.failNext('suspend', libvirtError('VIR_ERR_OPERATION_INVALID', 55, 'Requested operation is not valid: domain is being migrated'));
    expect(await errorOf(host.pause('web'))).toMatchObject({ code: 'invalid-state', message: 'lab1/web: Requested operation is not valid: domain is being migrated' });
    daemon.failNext('suspend', libvirtError('VIR_ERR_INTERNAL_ERROR', 1, 'internal error: qemu said no'));
    expect((await errorOf(host.pause('web'))).code).toBe('libvirt-error');
    daemon.failNext('suspend', libvirtError('VIR_ERR_OPERATION_DENIED', 29, 'operation forbidden: read only access prevents virDomainSuspend'));
    expect((await errorOf(host.pause('web'))).code).toBe('forbidden');
    // The state shown is libvirt's again after each failure.
    expect(host.get('web').state).toBe('running');
    expect(web.state).toBe(STATE.RUNNING);
    expect((await errorOf(host.start('nope'))).code).toBe('not-found');
  });

  test('an ssh URI is opened with no_tty=1 (ssh in BatchMode: it fails with its reason, never prompts); others as given', () => {
    expect(daemonUri('qemu+ssh://me@lab1/system')).toBe('qemu+ssh://me@lab1/system?no_tty=1');
    expect(daemonUri('qemu+ssh://me@lab1/system?keyfile=/k')).toBe('qemu+ssh://me@lab1/system?keyfile=/k&no_tty=1');
    expect(daemonUri('qemu+ssh://lab1/system?no_tty=0')).toBe('qemu+ssh://lab1/system?no_tty=0');
    expect(daemonUri('qemu+ssh://lab1/system#x')).toBe('qemu+ssh://lab1/system?no_tty=1#x');
    for (const uri of ['qemu:///system', 'qemu+tcp://lab1/system', 'qemu+libssh://lab1/system', 'test:///default']) expect(daemonUri(uri)).toBe(uri);
  });

  test('a closed connection says what closed it: libvirtd, or the ssh connection for ssh transports', () => {
    expect(lostReason('eof', 'qemu+tcp://lab1/system')).toBe('connection lost: libvirtd closed it');
    expect(lostReason('eof', 'qemu:///system')).toBe('connection lost: libvirtd closed it');
    for (const uri of ['qemu+ssh://me@lab1/system', 'qemu+libssh://lab1/system', 'QEMU+SSH://lab1/system', 'qemu+libssh2://lab1/system?known_hosts=/k']) {
      expect(lostReason('eof', uri)).toBe('connection lost: the ssh connection to libvirtd closed');
    }
    expect(lostReason('keepalive', 'qemu+ssh://lab1/system')).toBe('connection lost: libvirtd stopped answering keepalives');
    expect(lostReason('error', 'qemu+ssh://lab1/system')).toBe('connection lost (error)');
  });

  test('every action on an unreachable host is refused with host-unreachable and its reason', async () => {
    daemon.define({ name: 'web' });
    const { host } = makeHost({ backoff: { firstMs: 5_000, maxMs: 5_000 } });
    await connected(host);
    daemon.kill('eof');
    await until(() => host.info().state === 'unreachable');
    for (const p of [host.start('web'), host.stop('web', { force: true }), host.pause('web'), host.remove('web', { force: true }), host.openConsole('web', { force: true })]) {
      const e = await errorOf(p);
      expect(e.code).toBe('host-unreachable');
      expect(e.message).toMatch(/^lab1 is unreachable: connection lost/);
    }
    expect((await errorOf(host.create({ name: 'x', kernel: '/boot/vmlinuz' }))).code).toBe('host-unreachable');
    expect(await host.inspect('web')).toMatchObject({ name: 'lab1/web', reachable: false, driver: null });
  });

  test('a hung libvirtd fails the call with a timeout; another host is not delayed by it', async () => {
    const other = fake.daemon('qemu+tcp://lab2/system');
    other.define({ name: 'db' });
    daemon.define({ name: 'web' });
    const { host } = makeHost({ callTimeoutMs: 150 });
    const two = new LibvirtHost({ name: 'lab2', uri: 'qemu+tcp://lab2/system', home, binding: fake, log: () => undefined, callTimeoutMs: 150 });
    hosts.push(two);
    await connected(host);
    await connected(two);
    daemon.frozen = true;
    const hung = host.start('web');
    const t0 = Date.now();
    await two.start('db');
    await two.pause('db');
    expect(Date.now() - t0).toBeLessThan(100);
    const e = await errorOf(hung);
    expect(e.code).toBe('timeout');
    expect(e.message).toMatch(/lab1\/web: libvirt did not answer start within 0.15 s/);
    daemon.thaw();
  });

  test('inspect gives libvirt\'s XML and info', async () => {
    daemon.define({ name: 'web', xml: "<domain type='qemu'><name>web</name><devices/></domain>" });
    const { host } = makeHost();
    await connected(host);
    const r = await host.inspect('web');
    expect(r).toMatchObject({ name: 'lab1/web', driver: { uri: URI, xml: expect.stringContaining('<devices/>') }, runtime: { name: 'web' } });
  });
});

describe('uptime across a bentod restart', () => {
  test('a run bentod saw start keeps its start time in a new bentod while it runs under the same id; a new run does not', async () => {
    const web = daemon.define({ name: 'web' });
    const first = makeHost();
    await connected(first.host);
    await first.host.start('web');
    const startedAt = first.host.get('web').startedAt;
    expect(startedAt).not.toBeNull();
    const dir = first.host.get('web').dir;
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8'))).toEqual({ id: web.id, startedAt });
    await first.host.close();

    // bentod restarted: the domain still runs with the same id.
    const second = makeHost();
    await connected(second.host);
    expect(second.host.get('web').startedAt).toBe(startedAt);
    await second.host.close();

    // Stopped and started again outside bento while no bentod watched: another id, so no stale uptime.
    daemon.setState(web, STATE.SHUTOFF, 1, EVENT.STOPPED, 0);
    daemon.setState(web, STATE.RUNNING, 1, EVENT.STARTED, 0);
    const third = makeHost();
    await connected(third.host);
    expect(third.host.get('web').state).toBe('running');
    expect(third.host.get('web').startedAt).toBeNull();
  });
});

describe('right after the host is added', () => {
  test('a create waits for the first connect in progress instead of refusing it; a host that fails is refused with the reason', async () => {
    daemon.frozen = true;
    const { host } = makeHost();
    host.connect();
    expect(host.info().state).toBe('connecting');
    const creating = host.create({ name: 'web', kernel: '/boot/vmlinuz' });
    await new Promise((r) => setTimeout(r, 50));
    daemon.frozen = false;
    daemon.thaw();
    const vm = await creating;
    expect(vm).toMatchObject({ name: 'lab1/web', state: 'stopped', libvirt: { foreign: false } });

    const other = fake.daemon('qemu+tcp://lab9/system');
    other.down = true;
    const { host: lab9 } = makeHost({ name: 'lab9', uri: 'qemu+tcp://lab9/system' });
    lab9.connect();
    const e = await errorOf(lab9.create({ name: 'x', kernel: '/boot/vmlinuz' }));
    expect(e.code).toBe('host-unreachable');
    expect(e.message).toMatch(/^lab9 is unreachable: /);
  });
});
