import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BentoError } from '../errors.js';
import { BUILTIN_CATALOG, isLocationRef, loadCatalog, mergeUserCatalog, mirrorEntry, parseMirror, refKey, resolveRef, shaPrefixOf } from './catalog.js';

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-catalog-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const H256 = 'ab'.repeat(32);

/** The error a call throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): BentoError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BentoError);
    return err as BentoError;
  }
  throw new Error('expected an error');
}

describe('built-in catalog', () => {
  it('has every image for both architectures, each with its publisher checksum file beside it', () => {
    const ids = [...new Set(BUILTIN_CATALOG.map((e) => e.id))];
    expect(ids).toEqual(['debian-12', 'debian-13', 'ubuntu-24.04', 'fedora-44', 'alpine-3.24']);
    for (const id of ids) expect(BUILTIN_CATALOG.filter((e) => e.id === id).map((e) => e.arch).sort()).toEqual(['aarch64', 'x86_64']);
    for (const e of BUILTIN_CATALOG) {
      expect(e.url).toMatch(/^https:\/\//);
      expect(e.checksumUrl).toMatch(/^https:\/\//);
      expect(e.firmware).toBe(e.arch === 'aarch64' ? 'uefi' : 'bios');
      expect(e.format).toBe('qcow2');
    }
  });

  it('uses each publisher\'s layout and checksum file', () => {
    const get = (id: string, arch: string) => BUILTIN_CATALOG.find((e) => e.id === id && e.arch === arch)!;
    expect(get('debian-12', 'x86_64')).toMatchObject({
      url: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2',
      checksumUrl: 'https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS',
      defaultUser: 'debian',
    });
    expect(get('debian-13', 'aarch64').url).toBe('https://cloud.debian.org/images/cloud/trixie/latest/debian-13-genericcloud-arm64.qcow2');
    expect(get('ubuntu-24.04', 'aarch64')).toMatchObject({
      url: 'https://cloud-images.ubuntu.com/releases/noble/release/ubuntu-24.04-server-cloudimg-arm64.img',
      checksumUrl: 'https://cloud-images.ubuntu.com/releases/noble/release/SHA256SUMS',
    });
    expect(get('fedora-44', 'x86_64').checksumUrl).toBe('https://download.fedoraproject.org/pub/fedora/linux/releases/44/Cloud/x86_64/images/Fedora-Cloud-44-1.7-x86_64-CHECKSUM');
    expect(get('alpine-3.24', 'x86_64').url).toMatch(/\/v3\.24\/releases\/cloud\/nocloud_alpine-3\.24\.\d+-x86_64-bios-cloudinit-r0\.qcow2$/);
    expect(get('alpine-3.24', 'aarch64').checksumUrl).toBe(`${get('alpine-3.24', 'aarch64').url}.sha512`);
  });
});

describe('resolve', () => {
  it('a catalog id picks the given architecture, else the default one; arch aliases are accepted', () => {
    expect(resolveRef('debian-12', BUILTIN_CATALOG, 'x86_64')).toMatchObject({ key: 'debian-12:x86_64', entry: { id: 'debian-12', arch: 'x86_64' }, source: { kind: 'http' } });
    expect(resolveRef('debian-12:aarch64', BUILTIN_CATALOG, 'x86_64').key).toBe('debian-12:aarch64');
    expect(resolveRef('debian-12:arm64', BUILTIN_CATALOG, 'x86_64').key).toBe('debian-12:aarch64');
    expect(resolveRef('ubuntu-24.04', BUILTIN_CATALOG, 'aarch64').entry.url).toMatch(/arm64\.img$/);
  });

  it('an unknown id is not-found and lists the known ids', () => {
    const err = thrown(() => resolveRef('debian-99', BUILTIN_CATALOG));
    expect(err.code).toBe('not-found');
    expect(err.message).toBe('unknown image "debian-99"; the catalog has: debian-12, debian-13, ubuntu-24.04, fedora-44, alpine-3.24 (or give an absolute path or a URL)');
    expect(thrown(() => resolveRef('debian-12:riscv64', BUILTIN_CATALOG)).message).toMatch(/^image architecture \(after the colon\) must be x86_64 or aarch64 \(got "debian-12:riscv64"\)$/);
  });

  it('absolute paths and file:// URLs are ad-hoc local entries keyed by their file:// URL', () => {
    const r = resolveRef('/srv/images/../images/my.qcow2', BUILTIN_CATALOG, 'x86_64');
    expect(r).toMatchObject({ key: 'file:///srv/images/my.qcow2', source: { kind: 'file', path: '/srv/images/my.qcow2' }, entry: { id: null, origin: 'adhoc', firmware: 'bios' } });
    expect(resolveRef('file:///srv/images/my.qcow2', BUILTIN_CATALOG).key).toBe('file:///srv/images/my.qcow2');
    expect(refKey('/srv/images/my.qcow2')).toBe('file:///srv/images/my.qcow2');
  });

  it('http(s) URLs are ad-hoc; a #sha256= fragment becomes the checksum and is not part of the key', () => {
    const r = resolveRef(`https://example.test/img/disk.qcow2#sha256=${H256}`, BUILTIN_CATALOG, 'aarch64');
    expect(r).toMatchObject({ key: 'https://example.test/img/disk.qcow2', entry: { checksum: `sha256:${H256}`, firmware: 'uefi', arch: 'aarch64' }, source: { kind: 'http', url: 'https://example.test/img/disk.qcow2' } });
    expect(resolveRef('http://example.test/disk.raw', BUILTIN_CATALOG).entry.checksum).toBeUndefined();
    expect(thrown(() => resolveRef('https://example.test/d.img#md5=abc', BUILTIN_CATALOG)).message).toMatch(/URL fragment must be #sha256=<64 hex digits> or #sha512=<128 hex digits>/);
  });

  it('tells locations (which need no catalog) from catalog ids', () => {
    expect(['/srv/x.img', 'file:///x', 'file:/x', 'https://h/x', 'ftp://h/x'].map(isLocationRef)).toEqual([true, true, true, true, true]);
    expect(['debian-12', 'debian-12:aarch64', 'disk.qcow2', './x.img'].map(isLocationRef)).toEqual([false, false, false, false]);
  });

  it('anything else is refused naming the field and the rule', () => {
    for (const bad of ['./disk.qcow2', 'disk image', 'ftp://example.test/x.img', '']) {
      const err = thrown(() => resolveRef(bad, BUILTIN_CATALOG));
      expect(err.code).toBe('invalid-input');
      expect(err.fields?.[0]?.field).toBe('image');
      expect(err.message).toContain('image must be a catalog id, an absolute path or a URL');
      expect(err.message).toContain(`(got ${JSON.stringify(bad)})`);
    }
  });

  it('sha256 prefixes of at least 12 hex digits are recognised, with or without sha256- / sha256:', () => {
    expect(shaPrefixOf('abcdef012345')).toBe('abcdef012345');
    expect(shaPrefixOf('sha256-ABCDEF012345')).toBe('abcdef012345');
    expect(shaPrefixOf(`sha256:${H256}`)).toBe(H256);
    expect(shaPrefixOf('abcdef01234')).toBeNull();
    expect(shaPrefixOf('debian-12')).toBeNull();
  });
});

describe('mirror', () => {
  it('moves every http(s) entry to <mirror>/<id>/<arch>/<file name>, checksum file included', () => {
    const deb = BUILTIN_CATALOG.find((e) => e.id === 'debian-12' && e.arch === 'x86_64')!;
    expect(mirrorEntry(deb, 'http://127.0.0.1:8080/m')).toMatchObject({
      url: 'http://127.0.0.1:8080/m/debian-12/x86_64/debian-12-genericcloud-amd64.qcow2',
      checksumUrl: 'http://127.0.0.1:8080/m/debian-12/x86_64/SHA512SUMS',
    });
    const cat = loadCatalog({ home, env: { BENTO_IMAGE_MIRROR: 'file:///srv/mirror/' } });
    expect(cat.find((e) => e.id === 'fedora-44' && e.arch === 'aarch64')).toMatchObject({
      url: 'file:///srv/mirror/fedora-44/aarch64/Fedora-Cloud-Base-Generic-44-1.7.aarch64.qcow2',
      checksumUrl: 'file:///srv/mirror/fedora-44/aarch64/Fedora-Cloud-44-1.7-aarch64-CHECKSUM',
    });
    expect(resolveRef('fedora-44:aarch64', cat).source).toEqual({ kind: 'file', path: '/srv/mirror/fedora-44/aarch64/Fedora-Cloud-Base-Generic-44-1.7.aarch64.qcow2' });
  });

  it('a local entry stays where it is, and a mirror that is not a URL is refused', () => {
    const local = { ...BUILTIN_CATALOG[0]!, url: 'file:///srv/x.qcow2' };
    expect(mirrorEntry(local, 'http://m')).toBe(local);
    expect(thrown(() => parseMirror('/srv/mirror')).message).toBe('BENTO_IMAGE_MIRROR must be an http(s):// or file:// URL (got "/srv/mirror")');
    expect(thrown(() => loadCatalog({ home, env: { BENTO_IMAGE_MIRROR: 'mirror.example' } })).code).toBe('invalid-input');
  });
});

describe('user catalog ($BENTO_HOME/images.json)', () => {
  const merge = (images: unknown[]) => mergeUserCatalog(JSON.stringify({ images }), '/h/images.json', BUILTIN_CATALOG);

  it('adds entries (local paths without a checksum) and overrides built-ins by id and arch', () => {
    const cat = merge([
      { id: 'my-base', arch: 'x86_64', url: '/srv/base.qcow2', os: 'debian', defaultUser: 'me' },
      { id: 'debian-12', arch: 'x86_64', url: 'https://mirror.example/d12.qcow2', checksum: `sha256:${H256}` },
      { id: 'debian-13', arch: 'aarch64', title: 'Trixie for ARM' },
    ]);
    expect(cat.find((e) => e.id === 'my-base')).toEqual({
      id: 'my-base', title: 'my-base', arch: 'x86_64', url: 'file:///srv/base.qcow2', format: 'qcow2', firmware: 'bios', defaultUser: 'me', os: 'debian', origin: 'user',
    });
    const d12 = cat.filter((e) => e.id === 'debian-12');
    expect(d12).toHaveLength(2);
    // A new URL brings its own checksum: the publisher's SHA512SUMS would not list it.
    expect(d12.find((e) => e.arch === 'x86_64')).toMatchObject({ url: 'https://mirror.example/d12.qcow2', checksum: `sha256:${H256}`, origin: 'user', defaultUser: 'debian' });
    expect(d12.find((e) => e.arch === 'x86_64')!.checksumUrl).toBeUndefined();
    expect(cat.find((e) => e.id === 'debian-13' && e.arch === 'aarch64')).toMatchObject({ title: 'Trixie for ARM', checksumUrl: expect.stringMatching(/SHA512SUMS$/) as unknown });
    expect(cat).toHaveLength(BUILTIN_CATALOG.length + 1);
  });

  it('is read from the home on every load, so edits apply without restarting bentod', () => {
    fs.writeFileSync(path.join(home, 'images.json'), JSON.stringify({ images: [{ id: 'mine', arch: 'x86_64', url: '/srv/mine.img' }] }));
    expect(resolveRef('mine', loadCatalog({ home, env: {} }), 'x86_64').source).toEqual({ kind: 'file', path: '/srv/mine.img' });
  });

  it('a bad entry is refused naming the file, the entry and the field with its rule', () => {
    const cases: [unknown[], string, string][] = [
      [[{ id: 'Bad Id', arch: 'x86_64', url: '/x' }], 'images[0].id', 'must be lowercase letters'],
      [[{ id: 'ok', arch: 'x86_64', url: '/x' }, { id: 'two', arch: 'sparc', url: '/x' }], 'images[1].arch', 'must be x86_64 or aarch64'],
      [[{ id: 'web', arch: 'x86_64', url: 'ftp://x/y' }], 'images[0].url', 'must be an http(s):// URL, a file:// URL or an absolute path'],
      [[{ id: 'web', arch: 'x86_64', url: 'https://x/y.img' }], 'images[0].checksumUrl', 'an http(s) image needs checksumUrl or checksum'],
      [[{ id: 'web', arch: 'x86_64', url: '/y.img', checksum: 'sha256:abc' }], 'images[0].checksum', 'must be sha256:<64 hex digits> or sha512:<128 hex digits>'],
      [[{ id: 'web', arch: 'aarch64', url: '/y.img', firmware: 'bios' }], 'images[0].firmware', 'must be uefi for aarch64'],
      [[{ id: 'new', arch: 'x86_64' }], 'images[0].url', 'is required for a new entry'],
      [[{ id: 'web', arch: 'x86_64', url: '/y', colour: 'red' }], 'images[0].colour', 'is not a known field (known: id, arch, url,'],
    ];
    for (const [images, field, rule] of cases) {
      const err = thrown(() => merge(images));
      expect(err.code).toBe('invalid-input');
      expect(err.fields?.[0]?.field).toBe(field);
      expect(err.fields?.[0]?.message).toContain(rule);
      expect(err.message).toMatch(/^\/h\/images\.json: images\[\d\]/);
    }
    expect(thrown(() => merge([{ id: 'web', arch: 'x86_64', url: 'ftp://x' }])).message).toBe(
      '/h/images.json: images[0] (id "web"): url: must be an http(s):// URL, a file:// URL or an absolute path',
    );
    expect(thrown(() => mergeUserCatalog('{"images": 3}', '/h/images.json', [])).message).toBe('/h/images.json: images: must be a list of entries');
    expect(thrown(() => mergeUserCatalog('{oops', '/h/images.json', [])).message).toMatch(/^\/h\/images\.json: not valid JSON/);
  });
});
