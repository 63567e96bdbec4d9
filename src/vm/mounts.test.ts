import { describe, expect, it } from 'vitest';
import { BentoError } from './errors.js';
import { checkMounts, formatMount, guestFstabLine, guestMountCommands, guestMountScript, MAX_MOUNTS, parseMountArg } from './mounts.js';
import { applyPatch, validateCreate, type HostFacts } from './spec.js';
import type { FieldError } from './errors.js';
import type { MountSpec } from './types.js';

/** A host where /src/* and /data/* are folders (with /link -> /src/real), /file/* files, anything else missing. */
const host: HostFacts = {
  cpus: 4,
  memoryMiB: 8192,
  stat: (p) => (p.startsWith('/ok/') ? 'file' : 'missing'),
  realDir: (p) => (p === '/link' ? '/src/real' : p.startsWith('/src/') || p.startsWith('/data/') ? p : p.startsWith('/file/') ? 'not-a-directory' : 'missing'),
  mountType: (backend, readonly) => (backend === 'vz' ? 'virtiofs' : readonly ? '9p' : 'virtiofs'),
};
const detect = (): 'qcow2' => 'qcow2';

function fieldsOf(fn: () => unknown): Record<string, string> {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BentoError);
    return Object.fromEntries(((err as BentoError).fields ?? []).map((f) => [f.field, f.message]));
  }
  throw new Error('expected a validation error');
}

describe('parseMountArg', () => {
  it.each([
    ['/src/a', { source: '/src/a', target: null, readonly: false }],
    ['/src/a:/x', { source: '/src/a', target: '/x', readonly: false }],
    ['/src/a:/x:ro', { source: '/src/a', target: '/x', readonly: true }],
    ['/src/a:ro', { source: '/src/a', target: null, readonly: true }],
    ['/src/a:/x:rw', { source: '/src/a', target: '/x', readonly: false }],
  ])('%s', (v, want) => expect(parseMountArg(v)).toEqual(want));

  it.each(['', ':/x', '/a:/b:/c', '/a::ro', '/a:'])('refuses %j', (v) => expect(parseMountArg(v)).toBeNull());

  it('round-trips through formatMount', () => {
    expect(formatMount({ source: '/src/a', target: '/x', readonly: true })).toBe('/src/a:/x:ro');
    expect(parseMountArg(formatMount({ source: '/src/a', target: '/x', readonly: false }))).toEqual({ source: '/src/a', target: '/x', readonly: false });
  });
});

describe('checkMounts', () => {
  it('fills the default target, resolves symlinks, numbers tags and picks the type per share', () => {
    const out: FieldError[] = [];
    const m = checkMounts(['/link', '/data/set:/srv/data/:ro'], 'qemu', host, out);
    expect(out).toEqual([]);
    expect(m).toEqual([
      { source: '/src/real', target: '/mnt/link', readonly: false, tag: 'bento0', type: 'virtiofs' },
      { source: '/data/set', target: '/srv/data', readonly: true, tag: 'bento1', type: '9p' },
    ]);
  });

  it('names the field and the rule of every problem at once', () => {
    const out: FieldError[] = [];
    checkMounts(['/nope', 'rel/dir', '/file/f', '/src/a:relative', '/src/b:/', '/src/c:/proc/x', '/src/d:/sys', '/src/e:/dev/shm'], 'qemu', host, out);
    checkMounts(['/src/a', '/src/b', '/src/c', '/src/d', '/src/e', '/src/f', '/src/g', '/src/h'].map((s, i) => (i === 7 ? 'a:b:c:d' : s)), 'qemu', host, out);
    const f = Object.fromEntries(out.map((e) => [e.field, e.message]));
    expect(f['mounts[0].source']).toBe('does not exist: /nope');
    expect(f['mounts[1].source']).toMatch(/must be an absolute path/);
    expect(f['mounts[2].source']).toBe('is not a directory: /file/f');
    expect(f['mounts[3].target']).toBe('must be an absolute path (got "relative")');
    expect(f['mounts[4].target']).toMatch(/must not be \//);
    expect(f['mounts[5].target']).toMatch(/must not be \/proc or under it/);
    expect(f['mounts[6].target']).toMatch(/\/sys/);
    expect(f['mounts[7].target']).toMatch(/\/dev/);
    expect(f['mounts[7]']).toMatch(/must be SRC\[:DST\]\[:ro\]/);
  });

  it('refuses two shares on one target, control characters, and more than the maximum', () => {
    const out: FieldError[] = [];
    checkMounts(['/src/a:/x', '/src/b:/x/'], 'qemu', host, out);
    expect(out).toEqual([{ field: 'mounts', message: expect.stringContaining('mount /x twice') }]);
    const out2: FieldError[] = [];
    checkMounts(['/src/a:/x\ny'], 'qemu', host, out2);
    expect(out2[0]).toEqual({ field: 'mounts[0].target', message: 'must not contain control characters' });
    const out3: FieldError[] = [];
    checkMounts(Array.from({ length: MAX_MOUNTS + 1 }, (_, i) => `/src/${i}`), 'qemu', host, out3);
    expect(out3).toEqual([{ field: 'mounts', message: `must have at most ${MAX_MOUNTS} entries (got ${MAX_MOUNTS + 1})` }]);
  });

  it('keeps the type of an unchanged share (a PATCH lists them all again)', () => {
    const prev: MountSpec[] = [{ source: '/src/a', target: '/mnt/a', readonly: true, tag: 'bento0', type: 'virtiofs' }];
    const m = checkMounts(['/src/a:ro', '/src/b:ro'], 'qemu', host, [], prev);
    expect(m.map((x) => x.type)).toEqual(['virtiofs', '9p']);
  });

  it('vz shares are always virtio-fs', () => {
    expect(checkMounts(['/src/a:ro'], 'vz', { ...host, mountType: undefined }, [])[0]!.type).toBe('virtiofs');
  });
});

describe('create and PATCH with mounts', () => {
  it('a create stores the shares; bad ones fail the whole request naming each field', () => {
    const { spec } = validateCreate({ name: 'a', kernel: '/ok/k', mount: ['/src/a:/work', '/data/d:ro'] }, host, detect);
    expect(spec.mounts.map(formatMount)).toEqual(['/src/a:/work', '/data/d:/mnt/d:ro']);
    const f = fieldsOf(() => validateCreate({ name: 'a', kernel: '/ok/k', cpus: 99, mount: ['/gone:/x', '/src/a:x'] }, host, detect));
    expect(f).toMatchObject({ cpus: expect.any(String), 'mounts[0].source': 'does not exist: /gone', 'mounts[1].target': expect.stringContaining('absolute') });
    expect(fieldsOf(() => validateCreate({ name: 'a', kernel: '/ok/k', mount: '/src/a' }, host, detect))).toEqual({ mount: 'must be a list of strings' });
  });

  it('a PATCH replaces the list, validated the same way, and [] clears it', () => {
    const { spec } = validateCreate({ name: 'a', kernel: '/ok/k', mount: ['/src/a'] }, host, detect);
    const next = applyPatch(spec, { mount: ['/src/a', '/src/b:/b:ro'] }, host);
    expect(next.mounts.map((m) => `${m.tag} ${formatMount(m)} ${m.type}`)).toEqual(['bento0 /src/a:/mnt/a virtiofs', 'bento1 /src/b:/b:ro 9p']);
    expect(applyPatch(next, { mount: [] }, host).mounts).toEqual([]);
    expect(applyPatch(next, { cpus: 2 }, host).mounts).toEqual(next.mounts);
    expect(fieldsOf(() => applyPatch(next, { mount: ['/src/a:/dev'] }, host))).toEqual({ 'mounts[0].target': expect.stringContaining('/dev') });
  });
});

describe('guest side', () => {
  const rw: MountSpec = { source: '/src/a', target: '/mnt/a', readonly: false, tag: 'bento0', type: 'virtiofs' };
  const ro: MountSpec = { source: '/data/d', target: "/srv/it's here", readonly: true, tag: 'bento1', type: '9p' };

  it('prints the mount commands a person types in the guest', () => {
    expect(guestMountCommands(rw)).toEqual(['mkdir -p /mnt/a', 'mount -t virtiofs bento0 /mnt/a']);
    expect(guestMountCommands(ro)).toEqual([
      "mkdir -p '/srv/it'\\''s here'",
      "mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro bento1 '/srv/it'\\''s here'",
    ]);
  });

  it('an fstab line with nofail and an escaped blank', () => {
    expect(guestFstabLine(ro)).toBe("bento1 /srv/it's\\040here 9p trans=virtio,version=9p2000.L,msize=262144,ro,nofail 0 0");
    expect(guestFstabLine(rw)).toBe('bento0 /mnt/a virtiofs defaults,nofail 0 0');
  });

  it('the boot script mounts each share once, quoting targets, and never fails', () => {
    const s = guestMountScript([rw, ro]);
    expect(s.startsWith('#!/bin/sh\n')).toBe(true);
    expect(s).toContain('\nshare bento0 virtiofs defaults /mnt/a\n');
    expect(s).toContain("\nshare bento1 9p trans=virtio,version=9p2000.L,msize=262144,ro '/srv/it'\\''s here'\n");
    expect(s).toContain('mountpoint -q "$4" && return 0');
    expect(s.trimEnd().endsWith('exit 0')).toBe(true);
    expect(guestMountScript([])).not.toContain('\nshare ');
  });
});
