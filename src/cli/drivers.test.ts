import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeVzBinding } from '../../test/helpers/fake-vz.js';
import { shortTemp } from '../../test/helpers/vz-fixture.js';
import { BentoError } from '../vm/errors.js';
import { VmManager } from '../vm/manager.js';
import { validateCreate, type HostFacts } from '../vm/spec.js';
import { InstanceStore } from '../vm/store.js';
import { detectFormat, makeDrivers, offeredBackends, withBackends } from './drivers.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

const base: HostFacts = { cpus: 4, memoryMiB: 8192, stat: (p) => (p.startsWith('/ok/') ? 'file' : 'missing') };

function fieldsOf(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BentoError);
    expect((err as BentoError).code).toBe('invalid-input');
    return Object.fromEntries(((err as BentoError).fields ?? []).map((f) => [f.field, f.message]));
  }
  throw new Error('expected a validation error');
}

describe("bentod's drivers on this Linux host", () => {
  it('refuses --backend vz at create with a field error on backend that says why, and changes nothing', async () => {
    const home = shortTemp();
    cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
    const drivers = makeDrivers(home);
    const manager = new VmManager({ store: new InstanceStore(home), drivers, host: withBackends({ ...base, stat: () => 'file' }, drivers), detectFormat, log: () => undefined });
    await manager.init();
    const err = await manager.create({ name: 'mac-only', backend: 'vz', kernel: '/ok/vmlinuz' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BentoError);
    expect((err as BentoError).toJSON()).toEqual({
      error: {
        code: 'invalid-input',
        message: 'invalid VM definition: backend vz is unavailable here: it needs macOS (Apple Virtualization.framework) and this host runs linux; use --backend qemu',
        fields: [{ field: 'backend', message: 'vz is unavailable here: it needs macOS (Apple Virtualization.framework) and this host runs linux; use --backend qemu' }],
      },
    });
    expect(fs.readdirSync(path.join(home, 'vms'))).toEqual([]);
    expect(offeredBackends(drivers)).toEqual(['qemu']);
  });

  it('keeps qemu as the default backend here', () => {
    const drivers = makeDrivers('/tmp/unused');
    expect(validateCreate({ name: 'a', kernel: '/ok/k' }, withBackends(base, drivers), () => 'raw').spec.backend).toBe('qemu');
  });
});

describe('the default backend and the vz rules where vz is available (a Mac, faked)', () => {
  const mac = withBackends(base, makeDrivers('/tmp/unused', { platform: 'darwin', loadBinding: () => createFakeVzBinding() }));

  it('picks vz for a request that fits it, qemu when it asks for an accelerator or brings a qcow2 disk', () => {
    expect(validateCreate({ name: 'a', kernel: '/ok/k' }, mac, () => 'raw').spec).toMatchObject({ backend: 'vz', accel: 'auto' });
    expect(validateCreate({ name: 'a', disk: '/ok/d.img' }, mac, () => 'raw').spec.backend).toBe('vz');
    expect(validateCreate({ name: 'a', kernel: '/ok/k', accel: 'hvf' }, mac, () => 'raw').spec.backend).toBe('qemu');
    expect(validateCreate({ name: 'a', disk: '/ok/d.qcow2' }, mac, () => 'qcow2').spec.backend).toBe('qemu');
  });

  it('refuses a qcow2 disk and an explicit accelerator for --backend vz, each on its field', () => {
    expect(fieldsOf(() => validateCreate({ name: 'a', backend: 'vz', disk: '/ok/d.qcow2' }, mac, () => 'qcow2'))).toEqual({
      disk: 'is a qcow2 image and the vz backend takes raw images only (convert it: qemu-img convert -O raw /ok/d.qcow2 OUT.img)',
    });
    expect(fieldsOf(() => validateCreate({ name: 'a', backend: 'vz', kernel: '/ok/k', accel: 'tcg' }, mac, () => 'raw'))).toEqual({
      accel: 'must be auto with the vz backend (Virtualization.framework is its own accelerator; got tcg)',
    });
  });
});

describe('detectFormat', () => {
  it('reads a qcow2 magic, and calls anything else raw, without qemu-img', () => {
    const dir = shortTemp();
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const q = path.join(dir, 'q');
    const r = path.join(dir, 'r');
    fs.writeFileSync(q, Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]));
    fs.writeFileSync(r, Buffer.alloc(4096));
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    cleanups.push(() => (process.env.PATH = saved));
    expect([detectFormat(q), detectFormat(r)]).toEqual(['qcow2', 'raw']);
  });
});
