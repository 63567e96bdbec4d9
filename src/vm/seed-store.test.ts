import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MOUNT_SCRIPT, seedFiles, writeSeedIso } from './cloud-init.js';
import { guestMountScript } from './mounts.js';
import { vmFiles } from './paths.js';
import { mountsChanged, rewriteSeed, saveSeedInput } from './seed-store.js';
import type { MountSpec, VmSpec } from './types.js';

const spec: VmSpec = {
  name: 'web', backend: 'qemu', cpus: 1, memoryMiB: 1024, accel: 'tcg', kernel: null, initrd: null, cmdline: null,
  disks: [], iso: null, mac: '52:54:00:00:00:01', console: 'serial', createdAt: '2024-01-01T00:00:00.000Z',
  image: { ref: 'debian-12', sha256: 'a'.repeat(64), path: '/cache/base', format: 'qcow2' }, firmware: 'bios', network: 'nat', publish: [],
  cloudInit: { user: 'alice', instanceId: 'bento-0123456789abcdef' }, mounts: [],
};
const share: MountSpec = { source: '/home/u/src', target: '/mnt/src', readonly: false, tag: 'bento0', type: '9p' };

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-seedstore-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const read = (name: string): string => execFileSync('isoinfo', ['-R', '-x', `/${name}`, '-i', vmFiles(dir).seed], { encoding: 'utf8' });

describe('rewriteSeed', () => {
  it('remakes the seed with the new shares, the same instance-id and the user-data given at create', async () => {
    const userData = '#cloud-config\npackages: [git]\n';
    await writeSeedIso(vmFiles(dir).seed, seedFiles({ spec, sshKeys: ['ssh-ed25519 AAAA k'], userData }));
    saveSeedInput(dir, userData);
    const before = { meta: read('meta-data'), user: read('user-data') };
    expect(read(MOUNT_SCRIPT)).toBe(guestMountScript([]));
    expect(await rewriteSeed(dir, { ...spec, mounts: [share] }, ['ssh-ed25519 AAAA k'])).toBe(true);
    expect(read(MOUNT_SCRIPT)).toBe(guestMountScript([share]));
    expect(read('meta-data')).toBe(before.meta);
    expect(read('user-data')).toBe(before.user);
    expect(read('user-data')).toContain('git');
  });

  it('changes nothing for a seed made before bento kept its input', async () => {
    await writeSeedIso(vmFiles(dir).seed, seedFiles({ spec, sshKeys: [], userData: null }));
    const bytes = fs.readFileSync(vmFiles(dir).seed);
    expect(await rewriteSeed(dir, { ...spec, mounts: [share] }, [])).toBe(false);
    expect(fs.readFileSync(vmFiles(dir).seed).equals(bytes)).toBe(true);
  });
});

describe('mountsChanged', () => {
  it('compares every field the guest sees', () => {
    expect(mountsChanged([share], [{ ...share }])).toBe(false);
    expect(mountsChanged([share], [{ ...share, readonly: true }])).toBe(true);
    expect(mountsChanged([], [share])).toBe(true);
  });
});
