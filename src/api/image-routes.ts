// The image API: list the cache and the catalog, pull (progress goes out on /api/events as
// `event: image`), remove. The cache itself is the engine's (src/vm/images).
import { z } from 'zod';
import { BentoError } from '../vm/errors.js';
import type { ImageCache } from '../vm/images/cache.js';
import type { CachedImage, ImageList, ImageView, PullResult } from '../vm/images/types.js';
import type { VmManager } from '../vm/manager.js';
import { NAME_MAX, NAME_RE, zodFields } from '../vm/spec.js';
import { readJson, sendJson } from './http-util.js';
import type { Route } from './routes.js';

const IMAGE_RULE = 'must be a catalog id, an absolute path or a URL';
const pullSchema = z.strictObject({
  image: z.string({ message: IMAGE_RULE }).min(1, { message: IMAGE_RULE }).max(8192, { message: 'must be at most 8192 characters' }),
  force: z.boolean({ message: 'must be true or false' }).optional(),
  vm: z.string({ message: 'must be a VM name' }).regex(NAME_RE, { message: 'must be a VM name' }).max(NAME_MAX, { message: 'must be a VM name' }).optional(),
});

/**
 * The VMs whose disks are based on an image: the spec's `image.sha256` (read defensively: older
 * specs and broken ones have no `image`).
 */
export function imageUsers(manager: VmManager): (sha256: string) => string[] {
  return (sha256) =>
    manager
      .list()
      .filter((vm) => (vm.spec as { image?: { sha256?: string } | null } | undefined)?.image?.sha256 === sha256)
      .map((vm) => vm.name);
}

/** Routes of /api/images over the daemon's cache. */
export function imageRoutes(images: ImageCache, manager: VmManager): Route[] {
  const usedBy = imageUsers(manager);
  const view = (img: CachedImage): ImageView => ({ ...img, usedBy: usedBy(img.sha256) });
  return [
    {
      method: 'GET',
      pattern: /^\/api\/images$/,
      handler: ({ res }) => {
        const cached = images.list();
        const keys = new Set(cached.flatMap((i) => i.refs));
        const body: ImageList = {
          cached: cached.map(view),
          catalog: images.catalog().map((e) => ({ ...e, cached: keys.has(`${e.id}:${e.arch}`) })),
        };
        sendJson(res, 200, body);
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/images\/pull$/,
      handler: async ({ req, res }) => {
        const parsed = pullSchema.safeParse(await readJson(req));
        if (!parsed.success) {
          const fields = zodFields(parsed.error);
          throw new BentoError('invalid-input', `invalid pull request: ${fields.map((f) => `${f.field} ${f.message}`).join('; ')}`, { fields });
        }
        // A client that goes away (Ctrl-C) leaves the pull; the download stops unless another shares it.
        const leave = new AbortController();
        res.on('close', () => !res.writableFinished && leave.abort());
        let alreadyCached = false;
        const img = await images.pull(parsed.data.image, {
          force: parsed.data.force ?? false,
          signal: leave.signal,
          ...(parsed.data.vm ? { vm: parsed.data.vm } : {}),
          onProgress: (p) => void (p.phase === 'done' && (alreadyCached = p.cached === true)),
        });
        const body: PullResult = { ...view(img), alreadyCached };
        sendJson(res, 200, body);
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/images\/([^/]+)$/,
      handler: ({ res, params }) => {
        const img = images.get(params.name);
        if (!img) throw new BentoError('not-found', `no cached image ${params.name} (bento image ls lists them)`);
        sendJson(res, 200, view(img));
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/api\/images\/([^/]+)$/,
      handler: async ({ res, params }) => {
        await images.remove(params.name, usedBy);
        res.writeHead(204).end();
      },
    },
  ];
}
