// The image cache against a real HTTP server on 127.0.0.1 serving a mirror folder.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digests, fakeQcow2, mirrorBuiltin, startImageServer, type ImageServer } from '../../../test/helpers/image-server.js';
import { BentoError } from '../errors.js';
import { ImageCache, type ImageCacheOptions } from './cache.js';
import type { PullProgress } from './types.js';

const MiB = 1024 * 1024;
const IMAGE_PATH = '/debian-12/x86_64/debian-12-genericcloud-amd64.qcow2';

let home: string;
let mirror: string;
let server: ImageServer;

beforeEach(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-images-'));
  mirror = path.join(home, 'mirror');
  server = await startImageServer(mirror);
});
afterEach(async () => {
  await server.close();
  fs.rmSync(home, { recursive: true, force: true });
});

function cache(opts: Partial<ImageCacheOptions> = {}): ImageCache {
  return new ImageCache({ home, env: { BENTO_IMAGE_MIRROR: server.url }, arch: 'x86_64', progressIntervalMs: 25, ...opts });
}
const images = (): string[] => fs.readdirSync(path.join(home, 'images')).filter((n) => n.startsWith('sha256-')).sort();
const partial = (): string[] => fs.readdirSync(path.join(home, 'images', 'partial')).sort();
const imageGets = (): number => server.requests.filter((r) => r.path === IMAGE_PATH).length;

async function failure(p: Promise<unknown>): Promise<BentoError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BentoError);
    return err as BentoError;
  }
  throw new Error('expected the pull to fail');
}

describe('pull', () => {
  it('downloads, verifies against SHA512SUMS and keeps the image read-only under its sha256; a second pull is instant', async () => {
    const data = fakeQcow2(3 * MiB + 77, 2 * 1024 * MiB);
    const d = digests(data);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', data);
    const c = cache();
    const events: PullProgress[] = [];
    const img = await c.pull('debian-12', { onProgress: (p) => events.push(p) });

    expect(img).toMatchObject({
      sha256: d.sha256, size: data.length, format: 'qcow2', virtualSize: 2 * 1024 * MiB, id: 'debian-12', arch: 'x86_64',
      os: 'debian', firmware: 'bios', defaultUser: 'debian', url: `${server.url}${IMAGE_PATH}`, refs: ['debian-12:x86_64'],
      checksum: { algo: 'sha512', hex: d.sha512, url: `${server.url}/debian-12/x86_64/SHA512SUMS` },
    });
    expect(img.path).toBe(path.join(home, 'images', `sha256-${d.sha256}`));
    expect(fs.readFileSync(img.path).equals(data)).toBe(true);
    expect(fs.statSync(img.path).mode & 0o777).toBe(0o444);
    expect(fs.statSync(path.join(home, 'images')).mode & 0o777).toBe(0o700);
    expect(images()).toEqual([`sha256-${d.sha256}`, `sha256-${d.sha256}.json`]);
    expect(partial()).toEqual([]);
    expect(JSON.parse(fs.readFileSync(path.join(home, 'images', 'refs.json'), 'utf8'))).toEqual({ schemaVersion: 1, refs: { 'debian-12:x86_64': d.sha256 } });
    expect(JSON.parse(fs.readFileSync(`${img.path}.json`, 'utf8'))).toMatchObject({ sha256: d.sha256, format: 'qcow2', pulledAt: expect.any(String) as unknown });
    // The checksum file first, then the image.
    expect(server.requests.map((r) => r.path)).toEqual(['/debian-12/x86_64/SHA512SUMS', IMAGE_PATH]);
    expect(events.at(-1)).toMatchObject({ ref: 'debian-12', key: 'debian-12:x86_64', phase: 'done', received: data.length, total: data.length, sha256: d.sha256, cached: false });
    expect(events.some((e) => e.phase === 'verify')).toBe(true);

    const again: PullProgress[] = [];
    expect(await c.pull('debian-12:x86_64', { onProgress: (p) => again.push(p) })).toEqual(img);
    expect(server.requests).toHaveLength(2);
    expect(again).toEqual([expect.objectContaining({ phase: 'done', cached: true, sha256: d.sha256 })]);
    expect(c.get('debian-12')).toEqual(img);
    expect(c.get(d.sha256.slice(0, 12))).toEqual(img);
    expect(c.list()).toEqual([img]);

    // --force downloads again; the same bytes are not kept twice.
    expect((await c.pull('debian-12', { force: true })).sha256).toBe(d.sha256);
    expect(imageGets()).toBe(2);
    expect(images()).toHaveLength(2);
  });

  it('a wrong checksum is refused naming algorithm, both digests and the checksum file, and nothing is left', async () => {
    const data = fakeQcow2(2 * MiB);
    const d = digests(data);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', data, { wrongChecksum: true });
    const published = digests(Buffer.from('other bytes')).sha512;
    const err = await failure(cache().pull('debian-12'));
    expect(err.code).toBe('checksum-mismatch');
    expect(err.message).toBe(
      `debian-12: sha512 checksum mismatch for debian-12-genericcloud-amd64.qcow2: expected ${published}, got ${d.sha512} (checksum file ${server.url}/debian-12/x86_64/SHA512SUMS); the download was discarded`,
    );
    expect(imageGets()).toBe(1);
    expect(images()).toEqual([]);
    expect(partial()).toEqual([]);
    expect(fs.existsSync(path.join(home, 'images', 'refs.json'))).toBe(false);
  });

  it('an interrupted download resumes with Range and If-Range, fetching only the rest', async () => {
    const data = fakeQcow2(4 * MiB + 5);
    const d = digests(data);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', data);
    const cut = MiB + 12_345;
    server.options = { cutAfter: cut };
    const c = cache();
    const err = await failure(c.pull('debian-12'));
    expect(err.code).toBe('download-failed');
    expect(err.message).toMatch(new RegExp(`after ${cut} of ${data.length} bytes; pull again to resume$`));
    const parts = partial();
    expect(parts).toHaveLength(2);
    expect(fs.statSync(path.join(home, 'images', 'partial', parts.find((p) => p.endsWith('.part'))!)).size).toBe(cut);
    expect(images()).toEqual([]);

    server.options = {};
    const events: PullProgress[] = [];
    const img = await c.pull('debian-12', { onProgress: (p) => events.push(p) });
    const last = server.requests.filter((r) => r.path === IMAGE_PATH).at(-1)!;
    expect(last).toMatchObject({ range: `bytes=${cut}-`, status: 206, bytesSent: data.length - cut });
    expect(last.ifRange).toMatch(/^"/); // the ETag
    expect(img.sha256).toBe(d.sha256);
    expect(fs.readFileSync(img.path).equals(data)).toBe(true);
    expect(events.at(-1)).toMatchObject({ phase: 'done', resumedFrom: cut });
    expect(partial()).toEqual([]);
  });

  it('after a crash, a resume trusts only the bytes the part\'s record says were flushed', async () => {
    const data = fakeQcow2(4 * MiB);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', data);
    server.options = { cutAfter: 2 * MiB };
    const c = cache();
    await failure(c.pull('debian-12'));
    const dir = path.join(home, 'images', 'partial');
    const part = path.join(dir, partial().find((n) => n.endsWith('.part'))!);
    expect(JSON.parse(fs.readFileSync(part.replace(/\.part$/, '.json'), 'utf8'))).toMatchObject({ confirmed: 2 * MiB, total: data.length });
    // Bytes written but never flushed when bentod died: on disk they may be anything.
    fs.appendFileSync(part, Buffer.alloc(MiB, 0));
    server.options = {};
    const img = await c.pull('debian-12');
    expect(server.requests.filter((r) => r.path === IMAGE_PATH).at(-1)).toMatchObject({ range: `bytes=${2 * MiB}-`, status: 206 });
    expect(img.sha256).toBe(digests(data).sha256);
  });

  it('a server that ignores Range sends everything again, and the pull starts over cleanly', async () => {
    const data = fakeQcow2(3 * MiB);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', data);
    server.options = { cutAfter: 2 * MiB };
    const c = cache();
    await failure(c.pull('debian-12'));
    server.options = { ignoreRange: true };
    const img = await c.pull('debian-12');
    const last = server.requests.filter((r) => r.path === IMAGE_PATH).at(-1)!;
    expect(last).toMatchObject({ range: `bytes=${2 * MiB}-`, status: 200, bytesSent: data.length });
    expect(img.sha256).toBe(digests(data).sha256);
    expect(fs.readFileSync(img.path).equals(data)).toBe(true);
  });

  it('a part whose file changed on the server (If-Range no longer matches) is not glued to new bytes', async () => {
    const old = fakeQcow2(3 * MiB);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', old);
    server.options = { cutAfter: MiB };
    const c = cache();
    await failure(c.pull('debian-12'));
    server.options = {};
    const fresh = fakeQcow2(3 * MiB);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', fresh);
    const img = await c.pull('debian-12');
    expect(img.sha256).toBe(digests(fresh).sha256);
  });

  it('concurrent pulls of one image share one download, and every caller sees its progress', async () => {
    const data = fakeQcow2(2 * MiB);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', data);
    server.options = { bytesPerSec: 4 * MiB };
    const c = cache();
    const seen: Record<string, number> = {};
    const pulls = ['debian-12', 'debian-12:x86_64', 'debian-12:amd64'].map((ref) => c.pull(ref, { onProgress: (p) => void (seen[p.ref] = (seen[p.ref] ?? 0) + 1) }));
    const got = await Promise.all(pulls);
    expect(new Set(got.map((g) => g.sha256))).toEqual(new Set([digests(data).sha256]));
    expect(imageGets()).toBe(1);
    expect(Object.keys(seen).sort()).toEqual(['debian-12', 'debian-12:amd64', 'debian-12:x86_64']);
  });

  it('pulls of one URL that expect different checksums do not share a download', async () => {
    const data = fakeQcow2(2 * MiB);
    fs.mkdirSync(path.join(mirror, 'adhoc'), { recursive: true });
    fs.writeFileSync(path.join(mirror, 'adhoc', 'x.qcow2'), data);
    server.options = { bytesPerSec: 8 * MiB };
    const c = cache();
    const sha = digests(data).sha256;
    const url = `${server.url}/adhoc/x.qcow2`;
    const [right, wrong] = await Promise.allSettled([c.pull(`${url}#sha256=${sha}`), c.pull(`${url}#sha256=${'0'.repeat(64)}`)]);
    expect(right).toMatchObject({ status: 'fulfilled', value: { sha256: sha } });
    expect(wrong).toMatchObject({ status: 'rejected', reason: { code: 'checksum-mismatch' } });
    expect(server.requests.filter((r) => r.path === '/adhoc/x.qcow2')).toHaveLength(2);
  });

  it('an aborted pull stops the download and keeps its part; the next pull resumes it', async () => {
    const data = fakeQcow2(4 * MiB);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', data);
    server.options = { bytesPerSec: 4 * MiB };
    const c = cache();
    const ac = new AbortController();
    const p = c.pull('debian-12', { signal: ac.signal, onProgress: (e) => e.received > MiB && ac.abort() });
    expect((await failure(p)).code).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 100));
    expect(partial().filter((n) => n.endsWith('.part'))).toHaveLength(1);
    server.options = {};
    const img = await c.pull('debian-12');
    expect(server.requests.filter((r) => r.path === IMAGE_PATH).at(-1)!.range).toMatch(/^bytes=\d+-$/);
    expect(img.sha256).toBe(digests(data).sha256);
  });

  it('sends at most about four progress events a second, with rate and ETA', async () => {
    const data = fakeQcow2(2 * MiB);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', data);
    server.options = { bytesPerSec: 2 * MiB };
    const events: PullProgress[] = [];
    const t0 = Date.now();
    await cache({ progressIntervalMs: undefined }).pull('debian-12', { onProgress: (p) => events.push(p) });
    const secs = (Date.now() - t0) / 1000;
    expect(events.length).toBeLessThanOrEqual(Math.ceil(secs * 4) + 3);
    const mid = events.filter((e) => e.phase === 'download' && e.received > 0 && e.received < data.length);
    expect(mid.length).toBeGreaterThanOrEqual(2);
    expect(mid.at(-1)!.bytesPerSec).toBeGreaterThan(MiB);
    expect(mid.at(-1)!.bytesPerSec).toBeLessThan(4 * MiB);
    expect(mid.at(-1)!.etaSeconds).not.toBeNull();
    expect(events.at(-1)!.phase).toBe('done');
  });

  it('reads each publisher\'s checksum format: Ubuntu SHA256SUMS, Fedora CHECKSUM, Alpine .sha512', async () => {
    const c = cache();
    for (const id of ['ubuntu-24.04', 'fedora-44', 'alpine-3.24']) {
      const data = fakeQcow2(256 * 1024);
      mirrorBuiltin(mirror, id, 'x86_64', data);
      const img = await c.pull(id);
      expect(img.sha256).toBe(digests(data).sha256);
      expect(img.checksum!.algo).toBe(id === 'alpine-3.24' ? 'sha512' : 'sha256');
    }
    expect(c.list().map((i) => i.id)).toEqual(['alpine-3.24', 'fedora-44', 'ubuntu-24.04']);
  });
});

describe('ad-hoc sources', () => {
  it('a local file is copied into the cache (never used in place) and found again by path, file:// URL or sha256 prefix', async () => {
    const src = path.join(home, 'my.qcow2');
    const data = fakeQcow2(MiB + 3);
    fs.writeFileSync(src, data);
    const c = cache();
    // A path needs no catalog: a broken images.json does not stand in its way (it does for ids).
    fs.writeFileSync(path.join(home, 'images.json'), '{"images": [{"id": "x"}]}');
    expect((await failure(c.pull('debian-12'))).message).toMatch(/images\.json: images\[0\] \(id "x"\): arch: must be x86_64 or aarch64/);
    const img = await c.pull(src);
    expect(img).toMatchObject({ sha256: digests(data).sha256, url: `file://${src}`, id: null, checksum: null, refs: [`file://${src}`], format: 'qcow2' });
    expect(fs.statSync(img.path).ino).not.toBe(fs.statSync(src).ino);
    expect(fs.statSync(src).mode & 0o200).toBe(0o200); // the source is left as it was
    expect(c.get(`file://${src}`)).toEqual(img);
    expect(c.get(`sha256-${img.sha256.slice(0, 16)}`)).toEqual(img);
    expect(await c.pull(`file://${src}`)).toEqual(img);
    const raw = path.join(home, 'disk.raw');
    fs.writeFileSync(raw, Buffer.alloc(4096, 1));
    expect(await c.pull(raw)).toMatchObject({ format: 'raw', virtualSize: 4096 });
  });

  it('an http URL with #sha256= is verified against it, and follows redirects', async () => {
    const data = fakeQcow2(MiB);
    fs.mkdirSync(path.join(mirror, 'adhoc'), { recursive: true });
    fs.writeFileSync(path.join(mirror, 'adhoc', 'x.qcow2'), data);
    const c = cache();
    const sha = digests(data).sha256;
    const img = await c.pull(`${server.url}/redirect/adhoc/x.qcow2#sha256=${sha}`);
    expect(img).toMatchObject({ sha256: sha, checksum: { algo: 'sha256', hex: sha, url: null }, refs: [`${server.url}/redirect/adhoc/x.qcow2`] });
    const wrong = 'e'.repeat(64);
    const err = await failure(c.pull(`${server.url}/adhoc/x.qcow2#sha256=${wrong}`));
    expect(err.code).toBe('checksum-mismatch');
    expect(err.message).toContain(`expected ${wrong}, got ${sha} (checksum given inline)`);
    // A sha256 the cache already holds needs no download at all.
    const before = server.requests.length;
    expect((await c.pull(`${server.url}/elsewhere/y.qcow2#sha256=${sha}`)).sha256).toBe(sha);
    expect(server.requests.length).toBe(before);
  });

  it('refuses compressed files and qcow2 images that point at other files, keeping nothing', async () => {
    const c = cache();
    const xz = path.join(home, 'disk.qcow2.xz');
    fs.writeFileSync(xz, Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(1000)]));
    expect((await failure(c.pull(xz))).message).toBe(`${xz}: file://${xz} is xz-compressed, not a qcow2 or raw disk image (unpack it and pull the result); it was not kept`);
    const overlay = path.join(home, 'overlay.qcow2');
    const q = fakeQcow2(64 * 1024);
    q.writeBigUInt64BE(512n, 8);
    fs.writeFileSync(overlay, q);
    expect((await failure(c.pull(overlay))).message).toContain('is a qcow2 image with a backing file');
    expect((await failure(c.pull(path.join(home, 'missing.img')))).code).toBe('not-found');
    expect(images()).toEqual([]);
    expect(partial()).toEqual([]);
  });
});

describe('prunePartial', () => {
  it('deletes interrupted downloads', async () => {
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', fakeQcow2(2 * MiB));
    server.options = { cutAfter: MiB };
    const c = cache();
    await failure(c.pull('debian-12'));
    expect(partial()).toHaveLength(2);
    expect(c.prunePartial()).toBe(2);
    expect(partial()).toEqual([]);
  });
});

describe('remove', () => {
  it('refuses an image a VM uses, naming the VMs; otherwise removes it and every ref to it', async () => {
    const data = fakeQcow2(MiB);
    mirrorBuiltin(mirror, 'debian-12', 'x86_64', data);
    const c = cache();
    const img = await c.pull('debian-12');
    const err = await failure(c.remove('debian-12', (sha) => (sha === img.sha256 ? ['web', 'db'] : [])));
    expect(err.code).toBe('image-in-use');
    expect(err.message).toBe(`image debian-12 (sha256-${img.sha256.slice(0, 12)}) is used by web, db; remove those VMs first`);
    expect(fs.existsSync(img.path)).toBe(true);

    expect(await c.remove(img.sha256.slice(0, 12), () => [])).toEqual({ sha256: img.sha256, refs: ['debian-12:x86_64'] });
    expect(images()).toEqual([]);
    expect(c.get('debian-12')).toBeNull();
    expect(c.list()).toEqual([]);
    expect((await failure(c.remove('debian-12', () => []))).code).toBe('not-found');
  });
});
