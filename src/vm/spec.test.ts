import { describe, expect, it } from 'vitest';
import { BentoError } from './errors.js';
import { MAX_SOCKET_PATH, VM_SOCKET_NAMES, maxNameLengthFor } from './paths.js';
import { applyPatch, validateCreate, type HostFacts } from './spec.js';

const host: HostFacts = {
  cpus: 4,
  memoryMiB: 8192,
  stat: (p) => (p.startsWith('/ok/') ? 'file' : p.startsWith('/dir/') ? 'other' : 'missing'),
};
const detect = (): 'qcow2' => 'qcow2';

function fieldsOf(body: unknown): Record<string, string> {
  try {
    validateCreate(body, host, detect);
  } catch (err) {
    expect(err).toBeInstanceOf(BentoError);
    const e = err as BentoError;
    expect(e.code).toBe('invalid-input');
    return Object.fromEntries((e.fields ?? []).map((f) => [f.field, f.message]));
  }
  throw new Error('expected a validation error');
}

describe('validateCreate', () => {
  it('accepts a minimal kernel VM and fills defaults', () => {
    const { spec, newDiskMiB } = validateCreate({ name: 'web-1', kernel: '/ok/vmlinuz' }, host, detect);
    expect(spec).toMatchObject({ name: 'web-1', cpus: 1, memoryMiB: 512, accel: 'auto', backend: 'qemu', console: 'serial', disks: [] });
    expect(spec.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(newDiskMiB).toBeNull();
  });

  it.each([
    ['../x', 'name'],
    ['a/b', 'name'],
    ['', 'name'],
    ['a'.repeat(64), 'name'],
    ['.hidden', 'name'],
    ['a..b', 'name'],
    ['-a', 'name'],
  ])('rejects the name %j', (name, field) => {
    expect(Object.keys(fieldsOf({ name, kernel: '/ok/k' }))).toEqual([field]);
  });

  it('accepts a 63-character name', () => {
    expect(validateCreate({ name: 'a'.repeat(63), kernel: '/ok/k' }, host, detect).spec.name).toHaveLength(63);
  });

  it.each([
    [{ memory: '0' }, 'memory', /from 64M/],
    [{ memory: 0 }, 'memory', /from 64M/],
    [{ memory: '1.5.G' }, 'memory', /512M/],
    [{ memory: '9G' }, 'memory', /host's RAM/],
    [{ cpus: 0 }, 'cpus', /from 1 to 4/],
    [{ cpus: 5 }, 'cpus', /from 1 to 4/],
    [{ cpus: 1.5 }, 'cpus', /whole number/],
    [{ kernel: '/nope/vmlinuz' }, 'kernel', /does not exist/],
    [{ kernel: 'relative/vmlinuz' }, 'kernel', /absolute/],
    [{ kernel: '/dir/x' }, 'kernel', /regular file/],
    [{ accel: 'xen' }, 'accel', /auto, kvm, hvf or tcg/],
    [{ diskSize: 'big' }, 'diskSize', /512M/],
  ])('rejects %j on field %s', (extra, field, msg) => {
    const f = fieldsOf({ name: 'ok', kernel: '/ok/k', ...extra });
    expect(f[field]).toMatch(msg);
  });

  it('reports every broken field at once', () => {
    const f = fieldsOf({ name: '../x', memory: '0', cpus: 0, kernel: 'rel' });
    expect(Object.keys(f).sort()).toEqual(['cpus', 'kernel', 'memory', 'name']);
    const g = fieldsOf({ name: 'ok', memory: '0', cpus: 0, kernel: 'rel', initrd: '/nope' });
    expect(Object.keys(g).sort()).toEqual(['cpus', 'initrd', 'kernel', 'memory']);
  });

  it('rejects unknown fields by name', () => {
    expect(fieldsOf({ name: 'ok', kernel: '/ok/k', colour: 'red' })).toEqual({ colour: 'is not a known field' });
  });

  it('rejects a body that is not an object', () => {
    expect(Object.keys(fieldsOf([1, 2]))).toEqual(['(body)']);
    expect(Object.keys(fieldsOf(null))).toEqual(['(body)']);
  });

  it('needs something to boot, and kernel for initrd and cmdline', () => {
    expect(fieldsOf({ name: 'ok' }).kernel).toMatch(/something to boot/);
    const f = fieldsOf({ name: 'ok', disk: '/ok/d', initrd: '/ok/i', cmdline: 'x' });
    expect(f.initrd).toMatch(/needs kernel/);
    expect(f.cmdline).toMatch(/needs kernel/);
  });

  it('records the disk format and a new disk size', () => {
    expect(validateCreate({ name: 'd', disk: '/ok/d.img', diskFormat: 'raw' }, host, detect).spec.disks).toEqual([
      { path: '/ok/d.img', format: 'raw', owned: false, readonly: false },
    ]);
    expect(validateCreate({ name: 'd', disk: '/ok/d.qcow2' }, host, detect).spec.disks[0]?.format).toBe('qcow2');
    expect(validateCreate({ name: 'd', diskSize: '8G' }, host, detect).newDiskMiB).toBe(8192);
    expect(fieldsOf({ name: 'd', disk: '/ok/d', diskSize: '1G' }).diskSize).toMatch(/cannot be used with disk/);
  });
});

describe('applyPatch', () => {
  const { spec } = validateCreate({ name: 'p', kernel: '/ok/k', initrd: '/ok/i' }, host, detect);

  it('changes cpus and memory and clears a field with null', () => {
    const next = applyPatch(spec, { cpus: 2, memory: '1G', initrd: null }, host);
    expect(next).toMatchObject({ cpus: 2, memoryMiB: 1024, initrd: null, kernel: '/ok/k' });
    expect(spec.cpus).toBe(1);
  });

  it('refuses bad values and unknown fields with field errors', () => {
    expect(() => applyPatch(spec, { cpus: 0 }, host)).toThrow(/cpus/);
    expect(() => applyPatch(spec, { name: 'x' }, host)).toThrow(/name is not a known field/);
    expect(() => applyPatch(spec, { kernel: null }, host)).toThrow(/needs kernel/);
  });
});

describe('limits that would only fail at start', () => {
  it('refuses a kernel command line longer than COMMAND_LINE_SIZE - 1 bytes, on create and patch', () => {
    expect(fieldsOf({ name: 'c', kernel: '/ok/k', cmdline: 'a'.repeat(2048) }).cmdline).toMatch(/at most 2047 bytes.*COMMAND_LINE_SIZE is 2048/);
    // Bytes count, not characters: 1024 two-byte characters are 2048 bytes.
    expect(fieldsOf({ name: 'c', kernel: '/ok/k', cmdline: 'é'.repeat(1024) }).cmdline).toMatch(/got 2048/);
    expect(validateCreate({ name: 'c', kernel: '/ok/k', cmdline: 'a'.repeat(2047) }, host, detect).spec.cmdline).toHaveLength(2047);
    const { spec } = validateCreate({ name: 'c', kernel: '/ok/k' }, host, detect);
    expect(() => applyPatch(spec, { cmdline: 'a'.repeat(3000) }, host)).toThrow(/cmdline must be at most 2047 bytes/);
  });

  it('refuses a name whose socket paths would not fit, saying how long it may be here', () => {
    const h: HostFacts = { ...host, maxNameLength: 10 };
    expect(() => validateCreate({ name: 'a'.repeat(11), kernel: '/ok/k' }, h, detect)).toThrow(/name must be at most 10 characters here/);
    expect(validateCreate({ name: 'a'.repeat(10), kernel: '/ok/k' }, h, detect).spec.name).toHaveLength(10);
    expect(() => validateCreate({ name: 'a', kernel: '/ok/k' }, { ...host, maxNameLength: 0 }, detect)).toThrow(/use a shorter BENTO_HOME/);
  });

  it('maxNameLengthFor leaves room for the longest VM socket name under the limit', () => {
    const home = '/tmp/bt-x';
    const n = maxNameLengthFor(home);
    const longest = Math.max(...VM_SOCKET_NAMES.map((s) => s.length));
    expect(`${home}/vms/${'a'.repeat(n)}/${'x'.repeat(longest)}`.length).toBe(MAX_SOCKET_PATH);
  });
});
