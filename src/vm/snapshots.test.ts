import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BentoError } from './errors.js';
import { checkTag, defaultTag, forgetSnapshot, isValidTag, listSnapshots, mergeSnapshots, parseImageSnapshots, readSnapshotMeta, recordSnapshot, snapshotDisks, snapshotRefusal, writeSnapshotMeta, type DiskSnapshotInfo } from './snapshots.js';
import type { DiskSpec } from './types.js';

const disk = (p: string, over: Partial<DiskSpec> = {}): DiskSpec => ({ path: p, format: 'qcow2', owned: true, readonly: false, ...over });
const snap = (name: string, dateSec: number, vmState = 0): DiskSnapshotInfo => ({ id: '1', name, 'vm-state-size': vmState, 'date-sec': dateSec, 'date-nsec': 0 });

describe('snapshot tags', () => {
  it('takes letters, digits, . _ - up to 63 characters, starting with a letter or digit', () => {
    for (const t of ['a', 'snap-1', 'v1.2_rc', 'A'.repeat(63), '1a', '0-0']) expect(isValidTag(t)).toBe(true);
  });
  it('refuses all digits (a QEMU snapshot id), empty, too long, a leading symbol, spaces, slashes and non-strings', () => {
    for (const t of ['', '123', '0', 'A'.repeat(64), '-a', '.a', 'a b', 'a/b', 'é', 'a\n', 5, null, undefined]) expect(isValidTag(t)).toBe(false);
  });
  it('checkTag names the field tag and the rule', () => {
    try {
      checkTag('12');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BentoError);
      expect((err as BentoError).code).toBe('invalid-input');
      expect((err as BentoError).fields?.[0]?.field).toBe('tag');
      expect((err as BentoError).message).toMatch(/not all digits/);
    }
    expect(checkTag('ok-1')).toBe('ok-1');
  });
  it('defaults to snap-YYYYMMDD-HHMMSS in UTC, suffixed when taken', () => {
    const now = new Date('2024-03-05T07:08:09.500Z');
    expect(defaultTag(now, new Set())).toBe('snap-20240305-070809');
    expect(defaultTag(now, new Set(['snap-20240305-070809']))).toBe('snap-20240305-070809-2');
    expect(defaultTag(now, new Set(['snap-20240305-070809', 'snap-20240305-070809-2']))).toBe('snap-20240305-070809-3');
    expect(isValidTag(defaultTag(now, new Set()))).toBe(true);
  });
});

describe('snapshot refusals', () => {
  it('takes raw vz disks (clones), but refuses a vz RAM snapshot without the framework\'s save (macOS 14, Apple silicon)', () => {
    const vz = { name: 'v', backend: 'vz' as const, disks: [disk('/d.img', { format: 'raw' })] };
    expect(snapshotRefusal(vz)).toBeNull();
    expect(snapshotRefusal(vz, { withRam: true, saveRestore: true })).toBeNull();
    const old = snapshotRefusal(vz, { withRam: true, saveRestore: false });
    expect(old?.code).toBe('unsupported');
    expect(old?.message).toMatch(/holds its RAM, which needs macOS 14 on Apple silicon.*stop v .*disk-only snapshot/);
    expect(snapshotRefusal({ ...vz, disks: [] })?.message).toMatch(/no writable disk/);
    expect(snapshotRefusal({ ...vz, disks: [] }, { withRam: true, saveRestore: true })).toBeNull();
  });
  it('refuses writable raw disks of QEMU VMs (naming the disk) and VMs without a writable disk', () => {
    const raw = snapshotRefusal({ name: 'q', backend: 'qemu', disks: [disk('/a.qcow2'), disk('/x/y.img', { format: 'raw' })] });
    expect(raw?.code).toBe('unsupported');
    expect(raw?.message).toMatch(/disk \/x\/y\.img is raw; snapshots need qcow2 disks/);
    expect(snapshotRefusal({ name: 'k', backend: 'qemu', disks: [] })?.message).toMatch(/no writable disk/);
    expect(snapshotRefusal({ name: 'k', backend: 'qemu', disks: [disk('/ro.qcow2', { readonly: true })] })?.message).toMatch(/no writable disk/);
  });
  it('allows qcow2 disks beside read-only raw ones, which are not part of the snapshot', () => {
    const spec = { name: 'q', backend: 'qemu' as const, disks: [disk('/ro.img', { format: 'raw', readonly: true }), disk('/a.qcow2')] };
    expect(snapshotRefusal(spec)).toBeNull();
    expect(snapshotDisks(spec).map((d) => d.index)).toEqual([1]);
  });
});

describe('the snapshot list', () => {
  it('merges the disks: a tag in every disk is complete, in some only is incomplete; RAM from vm-state-size; newest first', () => {
    const list = mergeSnapshots(
      [
        { path: '/a', snapshots: [snap('old', 1000), snap('ram', 3000, 5000), snap('half', 2000)] },
        { path: '/b', snapshots: [snap('old', 1001), snap('ram', 3000)] },
      ],
      [],
    );
    expect(list.map((s) => [s.tag, s.complete, s.withRam, s.state, s.vmStateBytes])).toEqual([
      ['ram', true, true, 'running', 5000],
      ['half', false, false, 'stopped', 0],
      ['old', true, false, 'stopped', 0],
    ]);
    expect(list[2]?.createdAt).toBe(new Date(1000 * 1000).toISOString());
    expect(list.every((s) => s.diskBytes === null)).toBe(true);
  });
  it('takes the run state and time from records that match the disk, and ignores records that do not', () => {
    const disks = [{ path: '/a', snapshots: [snap('p', 3000, 10), snap('redone', 4000, 10), snap('liar', 5000)] }];
    const list = mergeSnapshots(disks, [
      { tag: 'p', createdAt: '2024-01-01T00:00:00.000Z', state: 'paused', diskDateSec: 3000 },
      // the same tag made again outside bento: another date
      { tag: 'redone', createdAt: '2020-01-01T00:00:00.000Z', state: 'paused', diskDateSec: 1 },
      // a record saying a disk-only snapshot is paused is not believed
      { tag: 'liar', createdAt: '2024-02-01T00:00:00.000Z', state: 'paused', diskDateSec: 5000 },
      { tag: 'gone', createdAt: '2024-01-01T00:00:00.000Z', state: 'running', diskDateSec: 9 },
    ]);
    const by = Object.fromEntries(list.map((s) => [s.tag, s]));
    expect(by.p).toMatchObject({ state: 'paused', createdAt: '2024-01-01T00:00:00.000Z' });
    expect(by.redone).toMatchObject({ state: 'running', createdAt: new Date(4000_000).toISOString() });
    expect(by.liar).toMatchObject({ state: 'stopped' });
    expect(by.gone).toBeUndefined();
  });
  it('counts a name one disk holds twice once', () => {
    const list = mergeSnapshots([{ path: '/a', snapshots: [snap('x', 1), snap('x', 2)] }, { path: '/b', snapshots: [snap('x', 1)] }], []);
    expect(list).toHaveLength(1);
    expect(list[0]?.complete).toBe(true);
  });
  it('parses qemu-img info JSON (no snapshots key: none)', () => {
    const json = JSON.stringify({ format: 'qcow2', snapshots: [{ id: '1', name: 't1', 'vm-state-size': 83155694, 'date-sec': 1700000000, 'date-nsec': 5, 'vm-clock-sec': 15, 'vm-clock-nsec': 1 }] });
    expect(parseImageSnapshots(json)).toEqual([{ id: '1', name: 't1', 'vm-state-size': 83155694, 'date-sec': 1700000000, 'date-nsec': 5 }]);
    expect(parseImageSnapshots('{"format":"qcow2"}')).toEqual([]);
  });
  it('lists only writable qcow2 disks, and keeps snapshots.json to what the disks hold', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-snap-'));
    const meta = path.join(dir, 'snapshots.json');
    const tables: Record<string, DiskSnapshotInfo[]> = { '/a': [snap('t1', 10, 7)], '/ro': [snap('never', 1)] };
    const spec = { disks: [disk('/a'), disk('/ro', { readonly: true })] };
    const read = async (d: string): Promise<DiskSnapshotInfo[]> => tables[d] ?? [];
    let r = await listSnapshots(spec, read, meta);
    expect(r.snapshots.map((s) => s.tag)).toEqual(['t1']);
    recordSnapshot(meta, { tag: 't1', createdAt: '2024-05-05T00:00:00.000Z', state: 'paused', diskDateSec: 10 }, r.disks);
    writeSnapshotMeta(meta, [...readSnapshotMeta(meta), { tag: 'stale', createdAt: 'x', state: 'running', diskDateSec: 1 }]);
    r = await listSnapshots(spec, read, meta);
    expect(r.snapshots[0]).toMatchObject({ tag: 't1', state: 'paused', createdAt: '2024-05-05T00:00:00.000Z' });
    forgetSnapshot(meta, 'nothing', r.disks);
    expect(readSnapshotMeta(meta).map((m) => m.tag)).toEqual(['t1']);
    fs.writeFileSync(meta, '{broken');
    expect(readSnapshotMeta(meta)).toEqual([]);
    expect((await listSnapshots(spec, read, meta)).snapshots[0]?.state).toBe('running');
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
