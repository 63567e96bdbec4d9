// The vz driver behind the real VmManager, spawning the real helper entry (from source, through tsx,
// with plain node standing in for the signed one) with the fake binding injected.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeVzBinding, type FakeVzOptions } from '../../../../test/helpers/fake-vz.js';
import { fakeEnv, recordedCalls, shortTemp } from '../../../../test/helpers/vz-fixture.js';
import { BentoError } from '../../errors.js';
import { VmManager } from '../../manager.js';
import { processAlive } from '../../proc.js';
import type { HostFacts } from '../../spec.js';
import { InstanceStore } from '../../store.js';
import type { StateEvent } from '../../types.js';
import { sniffDiskFormat } from './disk.js';
import { VzDriver } from './driver.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setup(opts: FakeVzOptions = {}, envOver: NodeJS.ProcessEnv = {}) {
  const home = shortTemp();
  cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
  const kernel = path.join(home, 'vmlinuz');
  fs.writeFileSync(kernel, 'not really a kernel');
  const callLog = path.join(home, 'calls.jsonl');
  const env = { ...fakeEnv(opts, callLog), BENTO_VZ_NODE: process.execPath, ...envOver };
  const make = () => new VzDriver({ home, platform: 'darwin', loadBinding: () => createFakeVzBinding(opts), env });
  const driver = make();
  const host: HostFacts = {
    cpus: 8,
    memoryMiB: 16384,
    stat: (p) => (fs.existsSync(p) ? (fs.statSync(p).isFile() ? 'file' : 'other') : 'missing'),
    backendUnavailable: (b) => (b === 'vz' ? null : 'not in this test'),
  };
  const newManager = (d: VzDriver) => {
    const events: StateEvent[] = [];
    const m = new VmManager({ store: new InstanceStore(home), drivers: { vz: d }, host, detectFormat: sniffDiskFormat, log: () => undefined });
    m.onState((e) => events.push(e));
    return { m, events };
  };
  const { m, events } = newManager(driver);
  await m.init();
  // Whatever a test leaves running is killed with its helper.
  cleanups.push(async () => {
    for (const vm of m.list()) if (vm.pid && processAlive(vm.pid)) process.kill(vm.pid, 'SIGKILL');
  });
  return { home, kernel, driver, make, manager: m, events, newManager, callLog, calls: () => recordedCalls(callLog).map((c) => c.call) };
}

describe('VzDriver', () => {
  it('is unavailable on Linux, saying why', () => {
    const d = new VzDriver({ home: '/tmp/x', platform: 'linux' });
    expect(d.availability()).toEqual({ ok: false, reason: 'it needs macOS (Apple Virtualization.framework) and this host runs linux; use --backend qemu' });
    expect(d.capabilities.saveRestore).toBe(false);
  });

  it('on macOS reports a missing addon or an unsupported Mac, and retries a failed load', () => {
    let fail = true;
    const d = new VzDriver({
      home: '/tmp/x',
      platform: 'darwin',
      loadBinding: () => {
        if (fail) throw new BentoError('unsupported', 'the vz addon (bento_vz.node) is not available (/x (missing)); it is built …\ntried:\n  /x (missing)');
        return createFakeVzBinding({ supported: false });
      },
    });
    expect(d.availability()).toEqual({ ok: false, reason: 'the vz addon (bento_vz.node) is not available (/x (missing)); it is built …' });
    fail = false;
    expect(d.availability()).toEqual({ ok: false, reason: expect.stringMatching(/isSupported is false/) });
  });

  it('offers save/restore only where the framework has it', () => {
    const cap = (o: FakeVzOptions) => new VzDriver({ home: '/tmp/x', platform: 'darwin', loadBinding: () => createFakeVzBinding(o) }).capabilities;
    expect(cap({ macos: '14.2', arch: 'arm64' })).toEqual({ pause: true, restart: true, saveRestore: true });
    expect(cap({ macos: '14.2', arch: 'x64' }).saveRestore).toBe(false);
    expect(cap({ macos: '13.6' }).saveRestore).toBe(false);
  });

  it('provisions a sparse raw disk, and describes the helper and its configuration', async () => {
    const { manager, home } = await setup();
    const vm = await manager.create({ name: 'd1', backend: 'vz', diskSize: '64M' });
    const disk = path.join(home, 'vms/d1/disk.img');
    expect(vm.spec.disks).toEqual([{ path: disk, format: 'raw', owned: true, readonly: false }]);
    const st = fs.statSync(disk);
    expect([st.size, st.mode & 0o777]).toEqual([64 * 1024 * 1024, 0o600]);
    const insp = await manager.inspect('d1');
    expect(insp.driver).toMatchObject({
      helper: [process.execPath, '--import', 'tsx', expect.stringMatching(/helper-main\.ts$/), path.join(home, 'vms/d1/vz-helper.json')],
      configuration: { boot: { kind: 'efi' }, disks: [{ path: disk, readOnly: false, cachedFullSync: true }] },
    });
  });

  it('runs a VM through the manager: start, pause, resume, graceful stop', async () => {
    const { manager, kernel, events, calls } = await setup();
    await manager.create({ name: 'a', backend: 'vz', kernel });
    const started = await manager.start('a');
    expect(started).toMatchObject({ state: 'running', accel: 'vz' });
    expect(processAlive(started.pid!)).toBe(true);
    await manager.pause('a');
    expect(manager.get('a').state).toBe('paused');
    await manager.resume('a');
    const stopped = await manager.stop('a', { timeoutMs: 5_000 });
    expect(stopped).toMatchObject({ state: 'stopped', reason: 'guest-shutdown', pid: null });
    expect(processAlive(started.pid!)).toBe(false);
    expect(calls()).toEqual(['info', 'createMachine', 'start', 'pause', 'resume', 'requestStop', 'dispose']);
    expect(events.map((e) => e.state)).toEqual(['starting', 'running', 'pausing', 'paused', 'resuming', 'running', 'stopping', 'stopped']);
  });

  it('suspends to disk and resumes through the manager (fake framework: macOS 14, Apple silicon)', async () => {
    const { manager, kernel, home, calls, events } = await setup();
    await manager.create({ name: 's', backend: 'vz', kernel });
    const started = await manager.start('s');
    const file = path.join(home, 'vms/s/saved.state');
    const saved = await manager.suspend('s');
    expect(saved).toMatchObject({ state: 'stopped', reason: 'saved', pid: null, savedState: { bytes: 'fake saved state'.length } });
    expect(fs.readFileSync(file, 'utf8')).toBe('fake saved state');
    expect(fs.existsSync(`${file}.partial`)).toBe(false);
    expect(processAlive(started.pid!)).toBe(false);
    const back = await manager.start('s');
    expect(back).toMatchObject({ state: 'running', savedState: null });
    expect(fs.existsSync(file)).toBe(false);
    // Saved from the .partial; restored, then resumed by bentod only after the state was deleted.
    expect(calls()).toEqual(['info', 'createMachine', 'start', 'pause', 'save', 'stop', 'dispose', 'info', 'createMachine', 'restore', 'resume']);
    expect(events.map((e) => e.state)).toEqual(['starting', 'running', 'saving', 'stopped', 'restoring', 'running']);
    expect(events[3]).toMatchObject({ state: 'stopped', reason: 'saved' });
    await manager.stop('s', { force: true });
  });

  it('refuses a suspend on a Mac without save/restore, and the VM runs on untouched', async () => {
    const { manager, kernel, calls } = await setup({ macos: '13.6' });
    await manager.create({ name: 'o', backend: 'vz', kernel });
    await manager.start('o');
    await expect(manager.suspend('o')).rejects.toMatchObject({ code: 'unsupported', message: expect.stringMatching(/macOS 14 on Apple silicon/) });
    expect(manager.get('o')).toMatchObject({ state: 'running', savedState: null });
    expect(calls()).not.toContain('pause');
    await manager.stop('o', { force: true });
  });

  it('passes --mount shares to the framework as virtio-fs devices, read-only honoured (fake native module; never run on macOS)', async () => {
    const { manager, kernel, home, callLog } = await setup();
    const src = path.join(home, 'src');
    const data = path.join(home, 'data');
    fs.mkdirSync(src);
    fs.mkdirSync(data);
    const vm = await manager.create({ name: 'sh', backend: 'vz', kernel, mount: [`${src}:/work`, `${data}:ro`] });
    expect(vm.spec.mounts.map((m) => [m.tag, m.type, m.readonly])).toEqual([['bento0', 'virtiofs', false], ['bento1', 'virtiofs', true]]);
    await manager.start('sh');
    const created = recordedCalls(callLog).find((c) => c.call === 'createMachine') as { config?: { shares?: unknown } } | undefined;
    expect(created?.config?.shares).toEqual([
      { tag: 'bento0', path: fs.realpathSync(src), readOnly: false },
      { tag: 'bento1', path: fs.realpathSync(data), readOnly: true },
    ]);
    await manager.stop('sh', { force: true });
  });

  it('climbs the stop ladder when the guest ignores the power button: requestStop, timeout, stop (forced)', async () => {
    const { manager, kernel, calls } = await setup({ guest: 'ignore' });
    await manager.create({ name: 'b', backend: 'vz', kernel });
    await manager.start('b');
    const t0 = Date.now();
    const vm = await manager.stop('b', { timeoutMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(vm).toMatchObject({ state: 'stopped', reason: 'forced' });
    expect(calls()).toEqual(['info', 'createMachine', 'start', 'requestStop', 'stop', 'dispose']);
  });

  it('is re-adopted by a new bentod from state.json and the process identity', async () => {
    const { manager, kernel, make, newManager } = await setup();
    await manager.create({ name: 'c', backend: 'vz', kernel });
    const first = await manager.start('c');
    manager.close();
    const second = newManager(make());
    await second.m.init();
    expect(second.m.get('c')).toMatchObject({ state: 'running', pid: first.pid, startedAt: first.startedAt });
    expect(second.m.consoleEndpoint('c')?.socket).toMatch(/console\.sock$/);
    expect(await second.m.stop('c', { force: true })).toMatchObject({ state: 'stopped', reason: 'forced' });
  });

  it('reports a helper killed behind its back as crashed', async () => {
    const { manager, kernel, events } = await setup();
    await manager.create({ name: 'k', backend: 'vz', kernel });
    const vm = await manager.start('k');
    process.kill(vm.pid!, 'SIGKILL');
    await expect.poll(() => manager.get('k').state, { timeout: 8_000 }).toBe('stopped');
    expect(events.at(-1)).toMatchObject({ state: 'stopped', reason: 'crashed' });
  });

  it('tells the user what to run when the node lacks the entitlement', async () => {
    const { manager, kernel } = await setup({ entitled: false });
    await manager.create({ name: 'e', backend: 'vz', kernel });
    await expect(manager.start('e')).rejects.toMatchObject({
      code: 'start-failed',
      message: expect.stringMatching(/lacks the com\.apple\.security\.virtualization entitlement; run `bash .*scripts\/sign-node\.sh`/),
    });
    expect(manager.get('e')).toMatchObject({ state: 'stopped', reason: expect.stringMatching(/^start-failed: /) });
  });

  it('tells the user what to run when there is no signed node yet', async () => {
    const { manager, kernel, home } = await setup({}, { BENTO_VZ_NODE: '' });
    await manager.create({ name: 'n', backend: 'vz', kernel });
    await expect(manager.start('n')).rejects.toThrow(
      new RegExp(`${home}/node-vz does not exist; run \`bash .*scripts/sign-node\\.sh\``),
    );
  });

  it('maps a configuration the framework refuses to start-failed with its domain and code', async () => {
    const { manager, kernel } = await setup({ createError: { kind: 'vz', message: 'Invalid virtual machine configuration.', domain: 'VZErrorDomain', nsCode: 2, failureReason: 'The memory size is invalid.' } });
    await manager.create({ name: 'v', backend: 'vz', kernel });
    await expect(manager.start('v')).rejects.toThrow(
      'start-failed: Invalid virtual machine configuration. The memory size is invalid. [VZErrorDomain 2: invalid virtual machine configuration]',
    );
  });
});
