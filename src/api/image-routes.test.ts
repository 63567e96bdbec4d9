// The image API end to end in one process: bentod's routes and event stream over a real cache,
// the typed client on a Unix socket, a real HTTP image server. The manager is a stand-in that only
// lists VMs (the routes ask it which VMs use an image).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digests, fakeQcow2, mirrorBuiltin, startImageServer, type ImageServer } from '../../test/helpers/image-server.js';
import { ImageCache } from '../vm/images/cache.js';
import type { PullProgress } from '../vm/images/types.js';
import type { VmManager } from '../vm/manager.js';
import { localOnlyRegistry } from '../vm/hosts.js';
import type { Vm } from '../vm/types.js';
import { BentoClient } from './client.js';
import { buildRoutes, dispatch } from './routes.js';
import { failure } from '../../test/helpers/failure.js';

const MiB = 1024 * 1024;
let dir: string;
let images: ImageServer;
let api: http.Server;
let client: BentoClient;
let vms: Vm[];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-imgapi-'));
  images = await startImageServer(path.join(dir, 'mirror'));
  vms = [];
  const manager = { list: () => vms, onState: () => () => undefined, onChange: () => () => undefined } as unknown as VmManager;
  const cache = new ImageCache({ home: dir, env: { BENTO_IMAGE_MIRROR: images.url }, arch: 'x86_64', progressIntervalMs: 50 });
  const routes = buildRoutes(localOnlyRegistry(manager), { version: 't', backends: ['qemu'], defaultAccel: 'tcg', pid: 1 }, cache);
  api = http.createServer((req, res) => void dispatch(routes, req, res));
  const sock = path.join(dir, 'bentod.sock');
  await new Promise<void>((r) => api.listen(sock, r));
  client = new BentoClient(sock);
});
afterEach(async () => {
  api.closeAllConnections();
  await new Promise((r) => api.close(r));
  await images.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('image API', () => {
  it('pulls with progress on /api/events, lists cache and catalog, refuses to remove a used image, removes an unused one', async () => {
    const data = fakeQcow2(3 * MiB);
    mirrorBuiltin(path.join(dir, 'mirror'), 'debian-12', 'x86_64', data);
    images.options = { bytesPerSec: 6 * MiB };
    const seen: PullProgress[] = [];
    const close = await client.events({ onEvent: () => undefined, onImage: (p) => seen.push(p) });
    const pulled = await client.pullImage('debian-12');
    // The reply and the events travel on two connections: the last event may come a moment later.
    for (let i = 0; i < 100 && seen.at(-1)?.phase !== 'done'; i++) await new Promise((r) => setTimeout(r, 20));
    close();
    const sha = digests(data).sha256;
    expect(pulled).toMatchObject({ sha256: sha, refs: ['debian-12:x86_64'], usedBy: [], alreadyCached: false, format: 'qcow2' });
    expect(seen.filter((p) => p.phase === 'download').length).toBeGreaterThanOrEqual(2);
    expect(seen.at(-1)).toMatchObject({ ref: 'debian-12', phase: 'done', sha256: sha });
    expect(await client.pullImage('debian-12')).toMatchObject({ sha256: sha, alreadyCached: true });

    vms = [{ name: 'web', spec: { image: { ref: 'debian-12', sha256: sha, path: pulled.path } } } as unknown as Vm, { name: 'plain', spec: {} } as unknown as Vm];
    const list = await client.images();
    expect(list.cached).toEqual([expect.objectContaining({ sha256: sha, usedBy: ['web'], refs: ['debian-12:x86_64'] })]);
    expect(list.catalog.filter((e) => e.cached).map((e) => `${e.id}:${e.arch}`)).toEqual(['debian-12:x86_64']);
    expect(list.catalog.find((e) => e.id === 'debian-12' && e.arch === 'x86_64')!.url).toBe(`${images.url}/debian-12/x86_64/debian-12-genericcloud-amd64.qcow2`);
    expect(await client.image(sha.slice(0, 12))).toMatchObject({ sha256: sha, usedBy: ['web'] });

    const inUse = await failure(client.removeImage('debian-12'));
    expect(inUse.code).toBe('image-in-use');
    expect(inUse.message).toMatch(/is used by web; remove that VM first$/);
    vms = [];
    await client.removeImage('debian-12');
    expect((await client.images()).cached).toEqual([]);
    expect((await failure(client.image('debian-12'))).code).toBe('not-found');
  });

  it('bad requests get field errors and change nothing', async () => {
    const bad = await failure(client.request('/api/images/pull', { method: 'POST', body: { image: 5 } }));
    expect(bad).toMatchObject({ code: 'invalid-input', fields: [{ field: 'image', message: 'must be a catalog id, an absolute path or a URL' }] });
    const unknown = await failure(client.pullImage('debian-99'));
    expect(unknown.code).toBe('not-found');
    expect(unknown.message).toMatch(/^unknown image "debian-99"; the catalog has: debian-12, /);
    const relative = await failure(client.pullImage('disk.qcow2'));
    expect(relative.message).toBe('image must be a catalog id, an absolute path or a URL (got "disk.qcow2"); for a local file, give its absolute path');
    const extra = await failure(client.request('/api/images/pull', { method: 'POST', body: { image: 'debian-12', colour: 1 } }));
    expect(extra.fields).toEqual([{ field: 'colour', message: 'is not a known field' }]);
    expect(fs.existsSync(path.join(dir, 'images'))).toBe(false);
  });

  it('a client that goes away stops the download in bentod, keeping the part for a resume', async () => {
    const data = fakeQcow2(4 * MiB);
    mirrorBuiltin(path.join(dir, 'mirror'), 'debian-12', 'x86_64', data);
    images.options = { bytesPerSec: 4 * MiB };
    const ac = new AbortController();
    const close = await client.events({ onEvent: () => undefined, onImage: (p) => p.received > MiB && ac.abort() });
    expect((await failure(client.pullImage('debian-12', { signal: ac.signal }))).code).toBe('cancelled');
    close();
    const imageGets = () => images.requests.filter((r) => r.path.endsWith('.qcow2'));
    // bentod notices the closed connection and stops reading from the image server.
    await new Promise((r) => setTimeout(r, 300));
    const sent = imageGets()[0]!.bytesSent;
    await new Promise((r) => setTimeout(r, 300));
    expect(imageGets()[0]!.bytesSent).toBe(sent);
    expect(sent).toBeLessThan(data.length);
    images.options = {};
    expect((await client.pullImage('debian-12')).sha256).toBe(digests(data).sha256);
    expect(imageGets()[1]!.range).toMatch(/^bytes=\d+-$/);
  });

  it('a pull has no deadline, but ends when bentod stops answering its liveness probe', async () => {
    // A stand-in bentod that takes the pull and then never answers anything again.
    const sock = path.join(dir, 'stuck.sock');
    let versions = 0;
    const stuck = http.createServer((req, res) => {
      if (req.url === '/api/version' && versions++ === 0) res.end('{}');
    });
    await new Promise<void>((r) => stuck.listen(sock, r));
    try {
      const t0 = Date.now();
      const err = await failure(new BentoClient(sock).pullImage('debian-12', { probe: { everyMs: 100, timeoutMs: 300 } }));
      expect(err.code).toBe('timeout');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
      expect(versions).toBeGreaterThanOrEqual(2);
    } finally {
      stuck.closeAllConnections();
      await new Promise((r) => stuck.close(r));
    }
  });
});
