import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmDir } from '../../src/vm/paths.js';
import { bento, cleanupHome, client, createGuest, tempHome } from '../helpers/bento.js';

const info = (file: string): { 'backing-filename'?: string; snapshots?: unknown[] } => JSON.parse(execFileSync('qemu-img', ['info', '--output=json', '-U', file], { encoding: 'utf8' }));

describe('clone and rename of a stopped VM (real qemu-img, real folders)', () => {
  let home: string;
  beforeAll(() => {
    home = tempHome();
  });
  afterAll(() => cleanupHome(home));

  it('clone copies the owned disk (without its snapshots), gets a new MAC; rename moves the folder', async () => {
    await createGuest(home, 'src', { extra: ['--disk-size', '64M'] });
    const srcDisk = path.join(vmDir(home, 'src'), 'disk.qcow2');
    expect((await bento(home, ['snapshot', 'src', 'before'])).exitCode).toBe(0);
    expect(info(srcDisk).snapshots).toHaveLength(1);

    const c = await bento(home, ['clone', 'src', 'copy']);
    expect(c.exitCode, c.stderr).toBe(0);
    expect(c.stdout.trim()).toBe(`cloned src as copy (${vmDir(home, 'copy')})`);
    const [src, copy] = await Promise.all([client(home).get('src'), client(home).get('copy')]);
    const copyDisk = path.join(vmDir(home, 'copy'), 'disk.qcow2');
    expect(copy.spec.disks[0]).toEqual({ ...src.spec.disks[0], path: copyDisk });
    expect(fs.statSync(copyDisk).ino).not.toBe(fs.statSync(srcDisk).ino);
    expect(info(copyDisk).snapshots ?? []).toHaveLength(0);
    expect(copy.spec.mac).not.toBe(src.spec.mac);
    expect(copy.spec.kernel).toBe(src.spec.kernel);

    // Bad names and taken names are refused, naming the field and the rule; nothing changes.
    const bad = await bento(home, ['clone', 'src', '../evil']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/name must be letters and digits/);
    const taken = await bento(home, ['rename', 'src', 'copy']);
    expect(taken.stderr.trim()).toBe('bento: a VM named "copy" already exists');

    const r = await bento(home, ['rename', 'copy', 'moved']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fs.existsSync(vmDir(home, 'copy'))).toBe(false);
    const moved = await client(home).get('moved');
    expect(moved.spec.disks[0]!.path).toBe(path.join(vmDir(home, 'moved'), 'disk.qcow2'));
    expect(fs.existsSync(moved.spec.disks[0]!.path)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(vmDir(home, 'moved'), 'vm.json'), 'utf8')).name).toBe('moved');
    expect((await client(home).list()).map((v) => v.name)).toEqual(['moved', 'src']);
  }, 120_000);
});
