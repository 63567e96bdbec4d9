// vz snapshots behind the real VmManager, with the real helper process (from source) and the fake
// native module standing in for Virtualization.framework. Never compiled or run on macOS: the clones
// here are plain copies (Linux has no clonefile), which is the fallback path.
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeVzBinding, type FakeVzOptions } from '../../../../test/helpers/fake-vz.js';
import { fakeEnv, recordedCalls, shortTemp } from '../../../../test/helpers/vz-fixture.js';
import { VmManager } from '../../manager.js';
import { processAlive } from '../../proc.js';
import type { HostFacts } from '../../spec.js';
import { InstanceStore } from '../../store.js';
import type { StateEvent } from '../../types.js';
import { sniffDiskFormat } from './disk.js';
import { VzDriver } from './driver.js';
import { cloneFile, readVzSnapshotMeta } from './snapshots.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A home with one vz VM `v` (a kernel and a 1 MiB raw disk holding `A…`), driven through the manager. */
async function setup(opts: FakeVzOptions = {}) {
  const home = shortTemp();
  cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
  const kernel = path.join(home, 'vmlinuz');
  fs.writeFileSync(kernel, 'not really a kernel');
  const callLog = path.join(home, 'calls.jsonl');
  const env = { ...fakeEnv(opts, callLog), BENTO_VZ_NODE: process.execPath };
  let failClone = false;
  // Clones are logged in the same file as the fake framework's calls, so their order shows.
  const clone = (src: string, dst: string): void => {
    fs.appendFileSync(callLog, JSON.stringify({ call: 'clone', src, dst }) + '\n');
    if (failClone) throw Object.assign(new Error('No space left on device'), { code: 'ENOSPC' });
    cloneFile(src, dst);
  };
  const driver = new VzDriver({ home, platform: 'darwin', loadBinding: () => createFakeVzBinding(opts), env, cloneFile: clone });
  const host: HostFacts = {
    cpus: 8,
    memoryMiB: 16384,
    stat: (p) => (fs.existsSync(p) ? (fs.statSync(p).isFile() ? 'file' : 'other') : 'missing'),
    backendUnavailable: (b) => (b === 'vz' ? null : 'not in this test'),
  };
  const events: StateEvent[] = [];
  const m = new VmManager({ store: new InstanceStore(home), drivers: { vz: driver }, host, detectFormat: sniffDiskFormat, log: () => undefined });
  m.onState((e) => events.push(e));
  await m.init();
  cleanups.push(async () => {
    for (const vm of m.list()) if (vm.pid && processAlive(vm.pid)) process.kill(vm.pid, 'SIGKILL');
  });
  const vm = await m.create({ name: 'v', backend: 'vz', kernel, diskSize: '1M' });
  const dir = path.join(home, 'vms/v');
  const disk = vm.spec.disks[0]!.path;
  /** Writes a marker at the start of the raw disk, as a guest writing a block would. */
  const write = (text: string): void => {
    const fd = fs.openSync(disk, 'r+');
    fs.writeSync(fd, text, 0);
    fs.closeSync(fd);
  };
  const read = (file = disk): string => fs.readFileSync(file).subarray(0, 8).toString();
  write('AAAAAAAA');
  return {
    m,
    dir,
    disk,
    write,
    read,
    events,
    snapDir: (tag: string) => path.join(dir, 'snapshots', tag),
    calls: () => recordedCalls(callLog).map((c) => c.call),
    raw: () => recordedCalls(callLog),
    failClones: (on: boolean) => (failClone = on),
  };
}

describe('vz snapshots (fake native module; never run on macOS)', () => {
  it('snapshots a running VM: pause, save, clone the disk, resume; the VM runs on and the folder holds state, disk and meta', async () => {
    const s = await setup();
    await s.m.start('v');
    const before = s.calls().length;
    s.events.length = 0;
    const snap = await s.m.snapshot('v', 't-run');
    expect(snap).toMatchObject({ tag: 't-run', withRam: true, state: 'running', vmStateBytes: 'fake saved state'.length, complete: true, diskBytes: null });
    expect(s.calls().slice(before)).toEqual(['pause', 'save', 'clone', 'resume']);
    // The state is saved straight into the partial folder, which is renamed once whole.
    const save = s.raw().find((c) => c.call === 'save');
    expect(save?.file).toBe(path.join(s.dir, 'snapshots/.t-run.partial/vm.state'));
    expect(fs.readdirSync(path.join(s.dir, 'snapshots'))).toEqual(['t-run']);
    expect(fs.readdirSync(s.snapDir('t-run')).sort()).toEqual(['disk0-disk.img', 'meta.json', 'vm.state']);
    expect(s.read(path.join(s.snapDir('t-run'), 'disk0-disk.img'))).toBe('AAAAAAAA');
    expect(readVzSnapshotMeta(s.snapDir('t-run'))).toEqual({ version: 1, tag: 't-run', createdAt: snap.createdAt, state: 'running', withRam: true, bytes: 16, disks: [{ path: s.disk, file: 'disk0-disk.img' }] });
    expect(s.m.get('v').state).toBe('running');
    // The backend's pause and resume are held back: the VM shows saving, then running.
    expect(s.events.map((e) => e.state)).toEqual(['saving', 'running']);
    expect(await s.m.snapshots('v')).toEqual([snap]);
  });

  it('restores a running snapshot: stop, disks back, restoreFrom a copy of the state, resumed; the snapshot stays', async () => {
    const s = await setup();
    const first = await s.m.start('v');
    await s.m.snapshot('v', 't-run');
    s.write('BBBBBBBB');
    const before = s.calls().length;
    s.events.length = 0;
    const vm = await s.m.restoreSnapshot('v', 't-run');
    expect(vm).toMatchObject({ state: 'running', savedState: null });
    expect(vm.pid).not.toBe(first.pid);
    expect(processAlive(first.pid!)).toBe(false);
    // The old helper's VM is stopped by the framework; the state and disk are cloned; a new helper restores.
    expect(s.calls().slice(before)).toEqual(['stop', 'dispose', 'clone', 'clone', 'info', 'createMachine', 'restore', 'resume']);
    const restore = s.raw().find((c) => c.call === 'restore');
    expect(restore).toMatchObject({ file: path.join(s.dir, 'vz-snapshot-load.state'), content: 'fake saved state' });
    // The copy is gone (the restore consumed it); the snapshot's own state and disk are intact.
    expect(fs.existsSync(path.join(s.dir, 'vz-snapshot-load.state'))).toBe(false);
    expect(fs.readFileSync(path.join(s.snapDir('t-run'), 'vm.state'), 'utf8')).toBe('fake saved state');
    expect(s.read()).toBe('AAAAAAAA');
    expect(fs.existsSync(`${s.disk}.bento-restore`)).toBe(false);
    expect((await s.m.snapshots('v')).map((x) => x.tag)).toEqual(['t-run']);
    expect(s.events.map((e) => e.state)).toEqual(['restoring', 'running']);
    // A second restore from the same snapshot works: it survived the first.
    s.write('CCCCCCCC');
    expect(await s.m.restoreSnapshot('v', 't-run')).toMatchObject({ state: 'running' });
    expect(s.read()).toBe('AAAAAAAA');
  });

  it('a snapshot of a paused VM saves without pause or resume and restores paused; a stopped VM is started into it', async () => {
    const s = await setup();
    await s.m.start('v');
    await s.m.pause('v');
    const before = s.calls().length;
    const snap = await s.m.snapshot('v', 't-paused');
    expect(snap).toMatchObject({ state: 'paused', withRam: true });
    expect(s.calls().slice(before)).toEqual(['save', 'clone']);
    expect(s.m.get('v').state).toBe('paused');
    await s.m.stop('v', { force: true });
    s.write('BBBBBBBB');
    const mark = s.calls().length;
    const vm = await s.m.restoreSnapshot('v', 't-paused');
    expect(vm.state).toBe('paused');
    expect(s.calls().slice(mark)).toEqual(['clone', 'clone', 'info', 'createMachine', 'restore']);
    expect(s.read()).toBe('AAAAAAAA');
    await s.m.resume('v');
    expect(s.m.get('v').state).toBe('running');
  });

  it('takes and restores a disk-only snapshot of a stopped VM (disk contents checked), and refuses it on a running VM', async () => {
    const s = await setup();
    const snap = await s.m.snapshot('v', 'd1');
    expect(snap).toMatchObject({ tag: 'd1', withRam: false, state: 'stopped', vmStateBytes: 0, complete: true });
    expect(fs.readdirSync(s.snapDir('d1')).sort()).toEqual(['disk0-disk.img', 'meta.json']);
    s.write('BBBBBBBB');
    expect(await s.m.restoreSnapshot('v', 'd1')).toMatchObject({ state: 'stopped' });
    expect(s.read()).toBe('AAAAAAAA');
    // The restored disk is a whole image of the same size and mode, not a truncated one.
    expect([fs.statSync(s.disk).size, fs.statSync(s.disk).mode & 0o777]).toEqual([1024 * 1024, 0o600]);
    expect(s.calls()).toEqual(['clone', 'clone']);
    await s.m.start('v');
    await expect(s.m.restoreSnapshot('v', 'd1')).rejects.toMatchObject({ code: 'invalid-state', message: expect.stringMatching(/disk-only snapshot .*stop v first/) });
    expect(s.m.get('v').state).toBe('running');
  });

  it('on macOS 13 refuses a running snapshot (RAM needs macOS 14) before touching the VM, and takes disk-only ones of a stopped VM', async () => {
    const s = await setup({ macos: '13.6' });
    await s.m.start('v');
    await expect(s.m.snapshot('v', 't')).rejects.toMatchObject({ code: 'unsupported', message: expect.stringMatching(/needs macOS 14 on Apple silicon.*stop v .*disk-only/) });
    expect(s.calls()).not.toContain('pause');
    expect(s.m.get('v').state).toBe('running');
    expect(await s.m.snapshots('v')).toEqual([]);
    await s.m.stop('v', { force: true });
    expect(await s.m.snapshot('v', 'd')).toMatchObject({ tag: 'd', withRam: false });
  });

  it('a half-made snapshot is never listed: a failed copy leaves no folder and the VM runs on; a leftover partial is removed', async () => {
    const s = await setup();
    await s.m.start('v');
    s.failClones(true);
    await expect(s.m.snapshot('v', 't')).rejects.toMatchObject({ code: 'io-error', message: expect.stringMatching(/snapshot t of v failed: cannot copy .*disk.img into the snapshot: No space left/) });
    s.failClones(false);
    expect(s.calls().slice(-4)).toEqual(['pause', 'save', 'clone', 'resume']);
    expect(s.m.get('v').state).toBe('running');
    expect(fs.readdirSync(path.join(s.dir, 'snapshots'))).toEqual([]);
    // What a crash mid-create leaves: a partial with everything but the rename, and a removal cut short.
    const partial = path.join(s.dir, 'snapshots/.x.partial');
    fs.mkdirSync(partial);
    fs.writeFileSync(path.join(partial, 'meta.json'), JSON.stringify({ version: 1, tag: 'x', createdAt: new Date().toISOString(), state: 'stopped', withRam: false, bytes: 0, disks: [] }));
    fs.mkdirSync(path.join(s.dir, 'snapshots/.y.removing'));
    expect(await s.m.snapshots('v')).toEqual([]);
    expect(fs.readdirSync(path.join(s.dir, 'snapshots'))).toEqual([]);
    await expect(s.m.restoreSnapshot('v', 'x')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('removes a snapshot folder; an unknown tag is not-found; a taken tag is refused', async () => {
    const s = await setup();
    await s.m.snapshot('v', 'a');
    await expect(s.m.snapshot('v', 'a')).rejects.toMatchObject({ code: 'already-exists' });
    await s.m.snapshot('v', 'b');
    await s.m.removeSnapshot('v', 'a');
    expect(fs.existsSync(s.snapDir('a'))).toBe(false);
    expect((await s.m.snapshots('v')).map((x) => x.tag)).toEqual(['b']);
    await expect(s.m.removeSnapshot('v', 'a')).rejects.toMatchObject({ code: 'not-found' });
    expect(fs.readdirSync(path.join(s.dir, 'snapshots'))).toEqual(['b']);
  });

  it('refuses a restore while the VM has a saved suspend state, and the disks stay as they are', async () => {
    const s = await setup();
    await s.m.snapshot('v', 'd1');
    await s.m.start('v');
    await s.m.suspend('v');
    s.write('BBBBBBBB');
    await expect(s.m.restoreSnapshot('v', 'd1')).rejects.toMatchObject({ code: 'invalid-state', message: expect.stringMatching(/saved state/) });
    expect(s.read()).toBe('BBBBBBBB');
  });

  it('marks a snapshot of other disks than the VM has now incomplete and will only remove it', async () => {
    const s = await setup();
    await s.m.snapshot('v', 'd1');
    const metaFile = path.join(s.snapDir('d1'), 'meta.json');
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { disks: { path: string }[] };
    meta.disks[0]!.path = '/elsewhere/disk.img';
    fs.writeFileSync(metaFile, JSON.stringify(meta));
    expect(await s.m.snapshots('v')).toMatchObject([{ tag: 'd1', complete: false }]);
    await expect(s.m.restoreSnapshot('v', 'd1')).rejects.toMatchObject({ code: 'invalid-state', message: expect.stringMatching(/other disks .*only be removed/) });
    await s.m.removeSnapshot('v', 'd1');
    expect(await s.m.snapshots('v')).toEqual([]);
  });
});
