import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { C_READONLY_SCRIPT, chooseMountType, classifyVirtiofsd, findVirtiofsd, virtiofsdCommand, type Virtiofsd } from './virtiofsd.js';

// The first lines of each kind's --help, as they print them.
const RUST_HELP = 'Usage: virtiofsd [OPTIONS]\n\nOptions:\n      --shared-dir <SHARED_DIR>\n      --readonly\n      --sandbox <SANDBOX>\n      --socket-path <SOCKET_PATH>\n';
const RUST_OLD_HELP = 'Usage: virtiofsd [OPTIONS]\n      --shared-dir <SHARED_DIR>\n      --sandbox <SANDBOX>\n';
const C_HELP = 'usage: virtiofsd [options]\n    -o cache=<mode>\n    -o sandbox=namespace|chroot\n    -o source=PATH             shared directory tree\n';

describe('classifyVirtiofsd', () => {
  it('tells the Rust one (with or without --readonly) from QEMU\'s C one', () => {
    expect(classifyVirtiofsd('/usr/libexec/virtiofsd', RUST_HELP, false)).toEqual({ path: '/usr/libexec/virtiofsd', flavor: 'rust', readonly: true, usable: true, why: null });
    expect(classifyVirtiofsd('/v', RUST_OLD_HELP, false)).toMatchObject({ flavor: 'rust', readonly: false, usable: true });
    expect(classifyVirtiofsd('/usr/lib/qemu/virtiofsd', C_HELP, true)).toMatchObject({ flavor: 'c', readonly: false, usable: true });
    // As root with unshare, read-only comes from a read-only bind mount in its own mount namespace.
    expect(classifyVirtiofsd('/usr/lib/qemu/virtiofsd', C_HELP, true, '/usr/bin/unshare')).toMatchObject({ flavor: 'c', readonly: true, unshare: '/usr/bin/unshare' });
    expect(classifyVirtiofsd('/usr/lib/qemu/virtiofsd', C_HELP, false)).toMatchObject({ flavor: 'c', usable: false, why: expect.stringContaining('needs root') });
    expect(classifyVirtiofsd('/bin/true', '', true)).toBeNull();
  });
});

describe('chooseMountType', () => {
  const rust: Virtiofsd = { path: '/v', flavor: 'rust', readonly: true, usable: true, why: null };
  const rustOld: Virtiofsd = { ...rust, readonly: false };
  const cRoot: Virtiofsd = { path: '/c', flavor: 'c', readonly: false, usable: true, why: null };
  const cUser: Virtiofsd = { ...cRoot, usable: false, why: 'needs root' };
  it.each([
    ['rw, Rust', false, rust, 'virtiofs'],
    ['ro, Rust with --readonly', true, rust, 'virtiofs'],
    ['ro, Rust without --readonly: 9p, host-enforced', true, rustOld, '9p'],
    ['rw, C as root', false, cRoot, 'virtiofs'],
    ['ro, C without unshare (no read-only mode)', true, cRoot, '9p'],
    ['ro, C as root with unshare', true, { ...cRoot, readonly: true, unshare: '/usr/bin/unshare' }, 'virtiofs'],
    ['rw, C unprivileged', false, cUser, '9p'],
    ['rw, none', false, null, '9p'],
  ] as const)('%s', (_what, ro, v, want) => expect(chooseMountType('qemu', ro, v)).toBe(want));

  it('vz always has virtio-fs', () => expect(chooseMountType('vz', true, null)).toBe('virtiofs'));
});

describe('virtiofsdCommand', () => {
  it('Rust: read-only when asked, no sandbox when not root', () => {
    const rust: Virtiofsd = { path: '/usr/libexec/virtiofsd', flavor: 'rust', readonly: true, usable: true, why: null };
    expect(virtiofsdCommand(rust, '/h/fs-0.sock', '/src', true, false)).toEqual([
      '/usr/libexec/virtiofsd', '--socket-path', '/h/fs-0.sock', '--shared-dir', '/src', '--cache', 'auto', '--readonly', '--sandbox', 'none',
    ]);
    expect(virtiofsdCommand(rust, '/h/fs-0.sock', '/src', false, true)).toEqual(['/usr/libexec/virtiofsd', '--socket-path', '/h/fs-0.sock', '--shared-dir', '/src', '--cache', 'auto']);
  });

  it('C: fuse options with commas escaped', () => {
    const c: Virtiofsd = { path: '/usr/lib/qemu/virtiofsd', flavor: 'c', readonly: false, usable: true, why: null };
    expect(virtiofsdCommand(c, '/h/fs-1.sock', '/a,b', false, true)).toEqual(['/usr/lib/qemu/virtiofsd', '--socket-path=/h/fs-1.sock', '-o', 'source=/a\\,b', '-o', 'cache=auto']);
    expect(() => virtiofsdCommand(c, '/h/fs-1.sock', '/a', true, true)).toThrow(/cannot serve a read-only share/);
    expect(virtiofsdCommand({ ...c, readonly: true, unshare: '/usr/bin/unshare' }, '/h/fs-1.sock', '/a', true, true)).toEqual([
      '/usr/bin/unshare', '-m', '--', 'sh', '-c', C_READONLY_SCRIPT, '/a', '/usr/lib/qemu/virtiofsd', '--socket-path=/h/fs-1.sock', '-o', 'source=/a', '-o', 'cache=auto',
    ]);
  });
});

describe('findVirtiofsd', () => {
  it('BENTO_VIRTIOFSD=none turns virtio-fs off; a named file is probed by its --help', () => {
    expect(findVirtiofsd({ BENTO_VIRTIOFSD: 'none' })).toBeNull();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-vfsd-'));
    const fake = path.join(dir, 'virtiofsd');
    fs.writeFileSync(fake, `#!/bin/sh\ncat <<'X'\n${RUST_HELP}X\n`, { mode: 0o755 });
    try {
      expect(findVirtiofsd({ BENTO_VIRTIOFSD: fake })).toMatchObject({ path: fake, flavor: 'rust', readonly: true });
      expect(findVirtiofsd({ BENTO_VIRTIOFSD: path.join(dir, 'missing') })).toBeNull();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
