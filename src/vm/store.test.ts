import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InstanceStore, SCHEMA_VERSION, parseSpecFile } from './store.js';
import type { VmSpec } from './types.js';

function spec(name: string, extra: Partial<VmSpec> = {}): VmSpec {
  return {
    name, backend: 'qemu', cpus: 1, memoryMiB: 512, accel: 'tcg', kernel: '/k', initrd: null, cmdline: null,
    disks: [], iso: null, mac: '52:54:00:00:00:01', console: 'serial', createdAt: '2024-01-01T00:00:00.000Z',
    image: null, firmware: 'bios', network: 'nat', publish: [], cloudInit: null, mounts: [], ...extra,
  };
}

let home: string;
let store: InstanceStore;
const vmPath = (...p: string[]): string => path.join(home, 'vms', ...p);
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-store-'));
  store = new InstanceStore(home);
  store.load();
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe('vm.json', () => {
  it('is written atomically with schemaVersion and without conf bookkeeping, and reads back', async () => {
    await store.create(spec('a'), async () => spec('a'));
    const raw = JSON.parse(fs.readFileSync(vmPath('a', 'vm.json'), 'utf8')) as Record<string, unknown>;
    expect(raw.schemaVersion).toBe(SCHEMA_VERSION);
    expect(raw).not.toHaveProperty('__internal__');
    expect((fs.statSync(vmPath('a', 'vm.json')).mode & 0o777).toString(8)).toBe('600');
    expect(fs.existsSync(vmPath('a', '.creating'))).toBe(false);
    const again = new InstanceStore(home);
    again.load();
    expect(again.get('a')).toEqual(spec('a'));
  });

  it('an old conf-written file (with __internal__, no schemaVersion) loads and is rewritten in the current format', () => {
    fs.mkdirSync(vmPath('old'), { recursive: true });
    fs.writeFileSync(vmPath('old', 'vm.json'), JSON.stringify({ ...spec('old'), __internal__: { migrations: { version: '1.0.0' } } }));
    const { problems } = store.load();
    expect(problems).toEqual([]);
    expect(store.get('old')).toEqual(spec('old'));
    const raw = JSON.parse(fs.readFileSync(vmPath('old', 'vm.json'), 'utf8')) as Record<string, unknown>;
    expect(raw).not.toHaveProperty('__internal__');
    expect(raw.schemaVersion).toBe(SCHEMA_VERSION);
  });

  it.each([
    ['truncated', '{"name": "x", "cpus"', /not JSON/],
    ['garbage', '\u0000\u0001garbage', /not JSON/],
    ['empty', '', /empty file/],
    ['an array', '[]', /not a JSON object/],
    ['wrong-typed', JSON.stringify({ ...spec('x'), cpus: 'two' }), /cpus: /],
    ['another name', JSON.stringify(spec('y')), /names "y", not "x"/],
    ['a newer schema', JSON.stringify({ schemaVersion: 99, ...spec('x') }), /schemaVersion 99 was written by a newer bento/],
  ])('a %s vm.json makes a corrupt entry, not a hidden VM', (_label, text, problem) => {
    fs.mkdirSync(vmPath('x'), { recursive: true });
    fs.writeFileSync(vmPath('x', 'vm.json'), text);
    store.load();
    expect(store.list()).toEqual([]);
    const c = store.getCorrupt('x');
    expect(c?.reason).toMatch(new RegExp(`^corrupt-spec: ${vmPath('x', 'vm.json')}: `));
    expect(c?.reason).toMatch(problem);
    expect(fs.existsSync(vmPath('x', 'vm.json'))).toBe(true);
  });

  it('keeps the individually valid fields of a broken file to show', () => {
    expect(() => parseSpecFile(JSON.stringify({ ...spec('x'), cpus: -1 }), 'x')).toThrow(/cpus/);
    fs.mkdirSync(vmPath('x'), { recursive: true });
    fs.writeFileSync(vmPath('x', 'vm.json'), JSON.stringify({ ...spec('x'), cpus: -1, memoryMiB: 2048 }));
    store.load();
    expect(store.getCorrupt('x')?.partial.memoryMiB).toBe(2048);
  });
});

describe('recovery after a bentod killed mid-operation', () => {
  it('rolls back a folder with the create marker and no complete vm.json', () => {
    fs.mkdirSync(vmPath('torn'), { recursive: true });
    fs.writeFileSync(vmPath('torn', '.creating'), '1\n');
    fs.writeFileSync(vmPath('torn', 'disk.qcow2'), 'x');
    const { problems } = store.load();
    expect(problems).toEqual(['torn: rolled back a create that a previous bentod did not finish']);
    expect(fs.existsSync(vmPath('torn'))).toBe(false);
  });

  it('keeps a VM whose vm.json was complete when the create was cut, and drops the marker', () => {
    fs.mkdirSync(vmPath('done'), { recursive: true });
    fs.writeFileSync(vmPath('done', '.creating'), '1\n');
    fs.writeFileSync(vmPath('done', 'vm.json'), JSON.stringify({ schemaVersion: 1, ...spec('done') }));
    store.load();
    expect(store.get('done')).toEqual(spec('done'));
    expect(fs.existsSync(vmPath('done', '.creating'))).toBe(false);
  });

  it('rolls back an empty folder, finishes .deleting-* folders, lists a folder without vm.json or marker as corrupt', () => {
    fs.mkdirSync(vmPath('empty'), { recursive: true });
    fs.mkdirSync(vmPath('.deleting-gone-1-2'), { recursive: true });
    fs.writeFileSync(vmPath('.deleting-gone-1-2', 'disk.qcow2'), 'x');
    fs.mkdirSync(vmPath('orphan'), { recursive: true });
    fs.writeFileSync(vmPath('orphan', 'serial.log'), 'boot');
    store.load();
    expect(fs.readdirSync(vmPath())).toEqual(['orphan']);
    expect(store.getCorrupt('orphan')?.reason).toBe(`corrupt-spec: ${vmPath('orphan', 'vm.json')}: missing`);
  });
});

describe('disk ownership', () => {
  it('names the VM that uses a disk, through symlinks, and refuses a create that attaches it', async () => {
    fs.writeFileSync(path.join(home, 'shared.img'), 'x');
    fs.symlinkSync(path.join(home, 'shared.img'), path.join(home, 'link.img'));
    const owner = spec('owner', { disks: [{ path: path.join(home, 'shared.img'), format: 'raw', owned: false, readonly: false }] });
    await store.create(owner, async () => owner);
    expect(store.diskUser(path.join(home, 'link.img'), 'other')).toBe('owner');
    expect(store.diskUser(path.join(home, 'link.img'), 'owner')).toBeNull();
    const borrower = spec('b', { disks: [{ path: path.join(home, 'link.img'), format: 'raw', owned: false, readonly: false }] });
    await expect(store.create(borrower, async () => borrower)).rejects.toMatchObject({
      code: 'invalid-input',
      fields: [{ field: 'disk', message: expect.stringContaining('already used by VM "owner"') as string }],
    });
    expect(fs.existsSync(vmPath('b'))).toBe(false);
    // Read-only on both sides is the one way two VMs may share an image.
    const ro = spec('ro1', { disks: [{ path: path.join(home, 'base.img'), format: 'raw', owned: false, readonly: true }] });
    await store.create(ro, async () => ro);
    expect(store.diskUser(path.join(home, 'base.img'), 'ro2', true)).toBeNull();
    expect(store.diskUser(path.join(home, 'base.img'), 'rw', false)).toBe('ro1');
  });

  it('a disk inside another VM folder belongs to that VM; rm keeps a disk another VM still uses', async () => {
    const disk = { path: vmPath('owner', 'disk.qcow2'), format: 'qcow2' as const, owned: true, readonly: false };
    await store.create(spec('owner', { disks: [disk] }), async (dir) => {
      fs.writeFileSync(path.join(dir, 'disk.qcow2'), 'data');
      return spec('owner', { disks: [disk] });
    });
    expect(store.diskUser(disk.path, 'borrower')).toBe('owner');
    // A borrower from before this rule existed (written by hand here).
    fs.mkdirSync(vmPath('borrower'));
    fs.writeFileSync(vmPath('borrower', 'vm.json'), JSON.stringify(spec('borrower', { disks: [{ ...disk, owned: false }] })));
    store.load();
    const lines: string[] = [];
    const s2 = new InstanceStore(home, { log: (l) => lines.push(l) });
    s2.load();
    s2.remove('owner');
    expect(fs.readFileSync(disk.path, 'utf8')).toBe('data');
    expect(fs.readdirSync(vmPath('owner')).sort()).toEqual(['disk.qcow2', 'kept-disks.txt']);
    expect(lines.join('\n')).toMatch(/owner: deleted, but kept disk.qcow2 is used by VM "borrower"/);
    expect(s2.get('owner')).toBeNull();
    // The kept folder is not a VM at the next load, and its name is not silently reusable.
    const s3 = new InstanceStore(home);
    expect(s3.load().problems).toEqual([expect.stringContaining("owner: a deleted VM's folder, kept for disks")]);
    expect(s3.listCorrupt()).toEqual([]);
    await expect(s3.create(spec('owner'), async () => spec('owner'))).rejects.toThrow(/kept for disks other VMs use/);
  });
});

describe('schema versions', () => {
  /** A vm.json as bento wrote it before images: schemaVersion 1, none of the fields version 2 added. */
  function version1(name: string): Record<string, unknown> {
    const { image: _i, firmware: _f, network: _n, publish: _p, cloudInit: _c, mounts: _m, ...old } = spec(name);
    return { schemaVersion: 1, ...old };
  }

  it('a version 1 file loads with the defaults of the new fields and is rewritten in the current version', () => {
    fs.mkdirSync(vmPath('v1'), { recursive: true });
    fs.writeFileSync(vmPath('v1', 'vm.json'), JSON.stringify(version1('v1')), { mode: 0o600 });
    expect(store.load().problems).toEqual([]);
    expect(store.get('v1')).toEqual({ ...spec('v1'), image: null, firmware: 'bios', network: 'nat', publish: [], cloudInit: null, mounts: [] });
    const raw = JSON.parse(fs.readFileSync(vmPath('v1', 'vm.json'), 'utf8')) as Record<string, unknown>;
    expect(raw.schemaVersion).toBe(SCHEMA_VERSION);
    expect(raw).toMatchObject({ image: null, firmware: 'bios', network: 'nat', publish: [], cloudInit: null, mounts: [] });
    expect(parseSpecFile(JSON.stringify(version1('v1')), 'v1').migrated).toBe(true);
    // Read again: now current, nothing to migrate.
    expect(parseSpecFile(fs.readFileSync(vmPath('v1', 'vm.json'), 'utf8'), 'v1')).toEqual({ spec: store.get('v1'), migrated: false });
  });

  it('a version 2 file round-trips every field images added', async () => {
    const full = spec('img', {
      kernel: null,
      disks: [{ path: vmPath('img', 'disk.qcow2'), format: 'qcow2', owned: true, readonly: false }],
      image: { ref: 'debian-12', sha256: 'ab'.repeat(32), path: '/cache/images/abab.qcow2', format: 'qcow2' },
      firmware: 'uefi',
      network: 'restricted',
      publish: [
        { hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80, protocol: 'tcp' },
        { hostIp: '0.0.0.0', hostPort: 5353, guestPort: 53, protocol: 'udp' },
      ],
      cloudInit: { user: 'alice', instanceId: 'bento-0011223344556677' },
    });
    await store.create(full, async () => full);
    const raw = JSON.parse(fs.readFileSync(vmPath('img', 'vm.json'), 'utf8')) as Record<string, unknown>;
    expect(raw).toMatchObject({ schemaVersion: SCHEMA_VERSION, firmware: 'uefi', network: 'restricted', cloudInit: full.cloudInit, image: full.image, publish: full.publish });
    const again = new InstanceStore(home);
    expect(again.load().problems).toEqual([]);
    expect(again.get('img')).toEqual(full);
    expect(parseSpecFile(fs.readFileSync(vmPath('img', 'vm.json'), 'utf8'), 'img').migrated).toBe(false);
  });

  it('a version 2 file (before shared folders) loads with no mounts and is rewritten as version 3', () => {
    const { mounts: _m, ...v2 } = spec('v2', { cloudInit: { user: 'alice', instanceId: 'bento-0011223344556677' } });
    fs.mkdirSync(vmPath('v2'), { recursive: true });
    fs.writeFileSync(vmPath('v2', 'vm.json'), JSON.stringify({ schemaVersion: 2, ...v2 }), { mode: 0o600 });
    expect(store.load().problems).toEqual([]);
    expect(store.get('v2')).toEqual({ ...v2, mounts: [] });
    const raw = JSON.parse(fs.readFileSync(vmPath('v2', 'vm.json'), 'utf8')) as Record<string, unknown>;
    expect(SCHEMA_VERSION).toBe(3);
    expect(raw).toMatchObject({ schemaVersion: 3, mounts: [] });
  });

  it('a version 3 file round-trips its mounts', async () => {
    const mounts: VmSpec['mounts'] = [
      { source: '/home/u/src', target: '/mnt/src', readonly: false, tag: 'bento0', type: 'virtiofs' },
      { source: '/data', target: '/srv/data', readonly: true, tag: 'bento1', type: '9p' },
    ];
    await store.create(spec('m', { mounts }), async () => spec('m', { mounts }));
    const again = new InstanceStore(home);
    expect(again.load().problems).toEqual([]);
    expect(again.get('m')?.mounts).toEqual(mounts);
  });

  it.each<[string, Partial<Record<keyof VmSpec, unknown>>, RegExp]>([
    ['a mount with a relative target', { mounts: [{ source: '/a', target: 'x', readonly: false, tag: 'bento0', type: '9p' }] }, /mounts\.0\.target/],
    ['a mount of an unknown type', { mounts: [{ source: '/a', target: '/x', readonly: false, tag: 'bento0', type: 'nfs' }] }, /mounts\.0\.type/],
    ['a mount tag longer than 31', { mounts: [{ source: '/a', target: '/x', readonly: false, tag: 't'.repeat(32), type: '9p' }] }, /mounts\.0\.tag/],
  ])('a version 3 file with %s is corrupt', (_label, bad, problem) => {
    fs.mkdirSync(vmPath('x'), { recursive: true });
    fs.writeFileSync(vmPath('x', 'vm.json'), JSON.stringify({ schemaVersion: 3, ...spec('x'), ...bad }));
    store.load();
    expect(store.get('x')).toBeNull();
    expect(store.getCorrupt('x')?.reason).toMatch(problem);
  });

  it.each<[string, Partial<Record<keyof VmSpec, unknown>>, RegExp]>([
    ['an image checksum that is not sha256 hex', { image: { ref: 'x', sha256: 'nothex', path: '/p', format: 'qcow2' } }, /image\.sha256/],
    ['a publish port of 0', { publish: [{ hostIp: '127.0.0.1', hostPort: 0, guestPort: 80, protocol: 'tcp' }] }, /publish\.0\.hostPort/],
    ['an unknown network mode', { network: 'bridge' }, /network/],
    ['an unknown firmware', { firmware: 'coreboot' }, /firmware/],
    ['a cloudInit without its instance id', { cloudInit: { user: 'a' } }, /cloudInit\.instanceId/],
  ])('a version 2 file with %s is corrupt, not silently defaulted', (_label, bad, problem) => {
    fs.mkdirSync(vmPath('x'), { recursive: true });
    fs.writeFileSync(vmPath('x', 'vm.json'), JSON.stringify({ schemaVersion: 2, ...spec('x'), ...bad }));
    store.load();
    expect(store.get('x')).toBeNull();
    expect(store.getCorrupt('x')?.reason).toMatch(problem);
  });
});
