import type { ImageSource } from '../manager.js';
import type { ResolvedImage } from '../spec.js';
import type { ImageCache } from './cache.js';
import type { CachedImage } from './types.js';

const MiB = 1024 * 1024;

/** What create --image needs of a cached image: where it is, what it is, how big, how it boots. */
export function resolvedFromCache(ref: string, img: CachedImage): ResolvedImage {
  return {
    ref,
    sha256: img.sha256,
    path: img.path,
    format: img.format,
    virtualSizeMiB: img.virtualSize ? Math.ceil(img.virtualSize / MiB) : null,
    firmware: img.firmware,
  };
}

/** The manager's image source over the cache: a ref not cached yet is pulled (progress labelled with the VM). */
export function imageSource(cache: ImageCache): ImageSource {
  return {
    async ensure(ref, forVm) {
      return resolvedFromCache(ref, await cache.pull(ref, { vm: forVm }));
    },
  };
}
