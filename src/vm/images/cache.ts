// The verified, content-addressed image cache under $BENTO_HOME/images: an image enters it only
// after its bytes matched the publisher's checksum, under the name of its own sha256, read-only;
// refs.json maps what users type to those names. Downloads live in partial/ until then.
import fs from 'node:fs';
import path from 'node:path';
import { Mutex } from 'async-mutex';
import { BentoError, errorMessage } from '../errors.js';
import { IMAGE_FILES, imagesDir } from '../paths.js';
import type { Disposer } from '../types.js';
import { hostImageArch, isLocationRef, loadCatalog, refKey, resolveRef, shaPrefixOf } from './catalog.js';
import { parseInlineChecksum } from './checksum-file.js';
import { dropPart, expectedChecksum, fetchPart, partialName, urlFileName, type Expected, type Fetched } from './fetch-part.js';
import { IMAGE_HEAD_BYTES, sniffImage } from './format.js';
import { IndexStore } from './index-store.js';
import { ProgressTracker } from './progress.js';
import { DEFAULT_IDLE_MS, cancelled } from './transfer.js';
import type { CachedImage, CatalogEntry, ImageArch, ImageMeta, PullProgress, ResolvedImage } from './types.js';

/** How the cache is set up. */
export interface ImageCacheOptions {
  /** BENTO_HOME: the cache is its `images/` folder, the user catalog its `images.json`. */
  home: string;
  /** Where BENTO_IMAGE_MIRROR is read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The architecture a reference without one means (default: this host's). */
  arch?: ImageArch;
  log?: (line: string) => void;
  /** Milliseconds between progress events (default 250: four a second). */
  progressIntervalMs?: number;
  /** A download with no byte for this long fails, keeping its part (default 30 s). */
  idleTimeoutMs?: number;
}

/** Options of one pull. */
export interface PullOptions {
  onProgress?: (p: PullProgress) => void;
  /** Aborting leaves this pull; the download stops when no other caller shares it (its part stays). */
  signal?: AbortSignal;
  /** Download again even when the reference is already cached. */
  force?: boolean;
  /** The architecture for a reference that names none. */
  arch?: ImageArch;
  /** The VM this pull is for (bento create --image), carried in its progress so a TUI shows it in that VM's row. */
  vm?: string;
}

/** What a removal took away. */
export interface RemovedImage {
  sha256: string;
  /** The refs.json keys that pointed at it. */
  refs: string[];
}

interface Caller {
  ref: string;
  key: string;
  onProgress: ((p: PullProgress) => void) | undefined;
  vm: string | undefined;
}

interface Flight {
  /** What the bytes are checked against: pulls that expect something else must not share them. */
  check: string;
  callers: Set<Caller>;
  controller: AbortController;
  tracker: ProgressTracker;
  promise: Promise<ImageMeta>;
  /** Resolves (never rejects) once the flight is over and out of the in-flight map. */
  settled: Promise<void>;
}

/** What a pull's bytes are verified against (one download may serve only pulls that agree on it). */
function checkOf(r: ResolvedImage): string {
  return `${r.entry.checksum ?? ''} ${r.entry.checksumUrl ?? ''}`;
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The image cache: pull (download, verify, keep), list, look up, remove. One per BENTO_HOME, owned by bentod. */
export class ImageCache {
  /** `$BENTO_HOME/images`. */
  readonly dir: string;
  /** `$BENTO_HOME/images/partial`. */
  readonly partialDir: string;
  private readonly index: IndexStore;
  private readonly mutex = new Mutex();
  /** Downloads in progress, by source URL: concurrent pulls of one image share one download. */
  private readonly flights = new Map<string, Flight>();
  private readonly listeners = new Set<(p: PullProgress) => void>();
  private readonly arch: ImageArch;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: ImageCacheOptions) {
    this.dir = imagesDir(opts.home);
    this.partialDir = path.join(this.dir, IMAGE_FILES.partial);
    this.arch = opts.arch ?? hostImageArch();
    this.log = opts.log ?? (() => undefined);
    this.index = new IndexStore(this.dir, this.log);
  }

  /** The catalog in effect (built-ins, images.json, mirror), read afresh. */
  catalog(): CatalogEntry[] {
    return loadCatalog({ home: this.opts.home, ...(this.opts.env ? { env: this.opts.env } : {}) });
  }

  /** Resolves a reference against the catalog without fetching anything. */
  resolve(ref: string, arch: ImageArch = this.arch): ResolvedImage {
    // A path or URL is resolved without the catalog, so a broken images.json does not block it.
    return resolveRef(ref, isLocationRef(ref) ? [] : this.catalog(), arch);
  }

  /** Subscribes to the progress of every pull (bentod broadcasts it on /api/events). */
  onProgress(listener: (p: PullProgress) => void): Disposer {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private view(meta: ImageMeta, refs: Record<string, string>): CachedImage {
    return { ...meta, path: this.index.imagePath(meta.sha256), refs: Object.keys(refs).filter((k) => refs[k] === meta.sha256).sort() };
  }

  /** Every cached image, by catalog id (ad-hoc ones by URL), then architecture. */
  list(): CachedImage[] {
    const refs = this.index.readRefs();
    const metas = this.index.shas().map((s) => this.index.readMeta(s)).filter((m): m is ImageMeta => m !== null);
    return metas.map((m) => this.view(m, refs)).sort((a, b) => (a.id ?? `~${a.url}`).localeCompare(b.id ?? `~${b.url}`) || a.arch.localeCompare(b.arch));
  }

  /** The sha256 a reference or sha256 prefix (>= 12 hex digits) names, or null. */
  private findSha(refOrSha: string): string | null {
    const prefix = shaPrefixOf(refOrSha);
    if (prefix) {
      const hits = this.index.shas().filter((s) => s.startsWith(prefix));
      if (hits.length > 1) throw new BentoError('invalid-input', `${refOrSha} matches ${hits.length} images; give more of the sha256`, { fields: [{ field: 'image', message: 'is an ambiguous sha256 prefix' }] });
      return hits[0] ?? null;
    }
    return this.index.readRefs()[refKey(refOrSha, this.arch)] ?? null;
  }

  /** A cached image by reference (`debian-12`, `debian-12:aarch64`, a URL or path pulled before) or sha256 prefix; null when not cached. */
  get(refOrSha: string): CachedImage | null {
    const sha = this.findSha(refOrSha);
    const meta = sha ? this.index.readMeta(sha) : null;
    return meta ? this.view(meta, this.index.readRefs()) : null;
  }

  private emit(caller: Caller, r: ResolvedImage, p: Omit<PullProgress, 'ref' | 'key' | 'id' | 'arch'>): void {
    const ev: PullProgress = { ref: caller.ref, key: caller.key, id: r.entry.id, arch: r.entry.arch, ...(caller.vm ? { vm: caller.vm } : {}), ...p };
    for (const l of [caller.onProgress, ...this.listeners]) {
      try {
        l?.(ev);
      } catch (err) {
        this.log(`images: a progress listener failed: ${errorMessage(err)}`);
      }
    }
  }

  /** The cached image a resolved reference already has, if any (an inline checksum must match it). */
  private async cachedFor(r: ResolvedImage): Promise<CachedImage | null> {
    const inline = r.entry.checksum ? parseInlineChecksum(r.entry.checksum) : null;
    const matches = (m: ImageMeta): boolean => !inline || (inline.algo === 'sha256' ? m.sha256 === inline.hex : m.checksum?.hex === inline.hex);
    const sha = this.index.readRefs()[r.key];
    const meta = sha ? this.index.readMeta(sha) : null;
    if (meta && matches(meta)) return this.view(meta, this.index.readRefs());
    // A sha256 given inline names the content itself: if the cache has it, nothing needs fetching.
    if (inline?.algo === 'sha256' && this.index.readMeta(inline.hex)) {
      await this.addRef(r.key, inline.hex);
      return this.get(`sha256-${inline.hex}`);
    }
    return null;
  }

  private addRef(key: string, sha256: string): Promise<void> {
    return this.mutex.runExclusive(() => {
      const refs = this.index.readRefs();
      if (refs[key] === sha256) return;
      refs[key] = sha256;
      this.index.writeRefs(refs);
    });
  }

  /**
   * Pulls an image into the cache and resolves with it: a reference already cached resolves at
   * once (unless `force`); otherwise the publisher's checksum is fetched, the image downloaded (or
   * copied, for a local file) while hashing, verified, and only then kept. Concurrent pulls of the
   * same source share one download.
   */
  async pull(ref: string, opts: PullOptions = {}): Promise<CachedImage> {
    const r = this.resolve(ref, opts.arch ?? this.arch);
    const caller: Caller = { ref, key: r.key, onProgress: opts.onProgress, vm: opts.vm };
    if (opts.signal?.aborted) throw cancelled(`pull ${ref}`);
    if (!opts.force) {
      const hit = await this.cachedFor(r);
      if (hit) {
        this.emit(caller, r, { phase: 'done', received: hit.size, total: hit.size, bytesPerSec: 0, etaSeconds: 0, resumedFrom: 0, sha256: hit.sha256, cached: true });
        return hit;
      }
    }
    for (;;) {
      const f = this.flights.get(r.entry.url);
      if (!f) break;
      if (!f.controller.signal.aborted && f.check === checkOf(r)) return this.join(f, caller, r, opts.signal);
      // That download is winding down (everyone left it), or it is checked against another
      // checksum: wait for it to let go of the URL's part, then start our own.
      await f.settled;
    }
    return this.join(this.start(r), caller, r, opts.signal);
  }

  private start(r: ResolvedImage): Flight {
    const flight = { check: checkOf(r), callers: new Set<Caller>(), controller: new AbortController(), tracker: new ProgressTracker() } as Flight;
    flight.promise = this.run(r, flight);
    flight.settled = flight.promise.then(
      () => undefined,
      () => undefined,
    );
    this.flights.set(r.entry.url, flight);
    void flight.settled.then(() => this.flights.delete(r.entry.url));
    return flight;
  }

  private join(flight: Flight, caller: Caller, r: ResolvedImage, signal: AbortSignal | undefined): Promise<CachedImage> {
    return new Promise<CachedImage>((resolve, reject) => {
      flight.callers.add(caller);
      let left = false;
      const onAbort = (): void => {
        left = true;
        flight.callers.delete(caller);
        if (flight.callers.size === 0) flight.controller.abort();
        reject(cancelled(`pull ${caller.ref}`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        async (meta) => {
          signal?.removeEventListener('abort', onAbort);
          if (left) return;
          try {
            await this.addRef(caller.key, meta.sha256);
          } catch (err) {
            reject(new BentoError('io-error', `recording ${caller.key} in refs.json: ${errorMessage(err)}`, { cause: err }));
            return;
          }
          const s = flight.tracker.sample();
          this.emit(caller, r, { ...s, phase: 'done', etaSeconds: 0, sha256: meta.sha256, cached: false });
          flight.callers.delete(caller);
          resolve(this.view(meta, this.index.readRefs()));
        },
        (err: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          flight.callers.delete(caller);
          if (left) return;
          this.emit(caller, r, { ...flight.tracker.sample(), phase: 'error', etaSeconds: null, error: errorMessage(err) });
          reject(err);
        },
      );
    });
  }

  private tick(flight: Flight, r: ResolvedImage): void {
    const s = flight.tracker.sample();
    for (const c of flight.callers) this.emit(c, r, s);
  }

  private async run(r: ResolvedImage, flight: Flight): Promise<ImageMeta> {
    fs.mkdirSync(this.partialDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.dir, 0o700);
    const t0 = Date.now();
    flight.tracker.phase = r.entry.checksumUrl ? 'checksum' : 'download';
    // The first event goes out once the caller has joined (this runs before join returns).
    const first = setImmediate(() => this.tick(flight, r));
    const ticker = setInterval(() => this.tick(flight, r), this.opts.progressIntervalMs ?? 250);
    try {
      const ctx = { partialDir: this.partialDir, signal: flight.controller.signal, idleMs: this.opts.idleTimeoutMs ?? DEFAULT_IDLE_MS, log: this.log, progress: flight.tracker };
      const expected = await expectedChecksum(r, ctx);
      const got = await fetchPart(r, expected, ctx);
      flight.tracker.phase = 'verify';
      this.tick(flight, r);
      const meta = await this.keep(r, expected, got);
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      this.log(`images: pulled ${r.key} (sha256-${meta.sha256.slice(0, 12)}, ${got.size} bytes) from ${r.entry.url} in ${secs} s`);
      return meta;
    } catch (err) {
      this.log(`images: pull of ${r.key} failed: ${errorMessage(err)}`);
      throw err;
    } finally {
      clearImmediate(first);
      clearInterval(ticker);
    }
  }

  /** Verifies a finished part against its checksum and format, then moves it into place (or drops it as a duplicate). */
  private async keep(r: ResolvedImage, expected: Expected, got: Fetched): Promise<ImageMeta> {
    const refuse = (code: 'checksum-mismatch' | 'invalid-input', message: string): BentoError => {
      dropPart(got.part, got.partJson);
      return new BentoError(code, message);
    };
    if (expected) {
      const actual = got.expectedAlgoHex ?? got.sha256;
      if (actual !== expected.hex) {
        const from = expected.url ? `checksum file ${expected.url}` : 'checksum given inline';
        throw refuse('checksum-mismatch', `${r.ref}: ${expected.algo} checksum mismatch for ${urlFileName(r.entry.url)}: expected ${expected.hex}, got ${actual} (${from}); the download was discarded`);
      }
    }
    const head = Buffer.alloc(IMAGE_HEAD_BYTES);
    const fd = fs.openSync(got.part, 'r');
    let n: number;
    try {
      n = fs.readSync(fd, head, 0, head.length, 0);
    } finally {
      fs.closeSync(fd);
    }
    const sniffed = sniffImage(head.subarray(0, n), got.size);
    if (!sniffed.ok) throw refuse('invalid-input', `${r.ref}: ${r.entry.url} ${sniffed.problem}; it was not kept`);
    const e = r.entry;
    const fresh: ImageMeta = {
      sha256: got.sha256,
      size: got.size,
      format: sniffed.format,
      virtualSize: sniffed.virtualSize,
      url: e.url,
      id: e.id,
      arch: e.arch,
      title: e.title,
      os: e.os,
      firmware: e.firmware,
      defaultUser: e.defaultUser,
      checksum: expected,
      pulledAt: new Date().toISOString(),
    };
    return this.mutex.runExclusive(() => {
      const existing = this.index.readMeta(fresh.sha256);
      if (existing) {
        dropPart(got.part, got.partJson);
        return existing;
      }
      fs.chmodSync(got.part, 0o444);
      this.index.writeMeta(fresh);
      fs.renameSync(got.part, this.index.imagePath(fresh.sha256));
      fsyncDir(this.dir);
      if (got.partJson) fs.rmSync(got.partJson, { force: true });
      return fresh;
    });
  }

  /**
   * Removes a cached image (by reference or sha256 prefix) and every ref to it. Refuses with
   * `image-in-use` while `usedBy(sha256)` names any VM.
   */
  remove(refOrSha: string, usedBy: (sha256: string) => string[]): Promise<RemovedImage> {
    return this.mutex.runExclusive(() => {
      const sha = this.findSha(refOrSha);
      if (!sha) throw new BentoError('not-found', `no cached image ${refOrSha} (bento image ls lists them)`);
      const users = usedBy(sha);
      if (users.length) {
        throw new BentoError('image-in-use', `image ${refOrSha} (sha256-${sha.slice(0, 12)}) is used by ${users.join(', ')}; remove ${users.length === 1 ? 'that VM' : 'those VMs'} first`);
      }
      const refs = this.index.readRefs();
      const dropped = Object.keys(refs).filter((k) => refs[k] === sha);
      for (const k of dropped) delete refs[k];
      if (dropped.length) this.index.writeRefs(refs);
      fs.rmSync(this.index.imagePath(sha), { force: true });
      fs.rmSync(this.index.metaPath(sha), { force: true });
      this.log(`images: removed sha256-${sha.slice(0, 12)}${dropped.length ? ` (${dropped.join(', ')})` : ''}`);
      return { sha256: sha, refs: dropped.sort() };
    });
  }

  /** Deletes interrupted downloads (parts no pull is working on); returns how many files went. */
  prunePartial(): number {
    const busy = new Set([...this.flights.keys()].map(partialName));
    let names: string[];
    try {
      names = fs.readdirSync(this.partialDir);
    } catch {
      return 0;
    }
    let n = 0;
    for (const name of names) {
      if (busy.has(name.replace(/\.(part|json)$/, ''))) continue;
      fs.rmSync(path.join(this.partialDir, name), { force: true, recursive: true });
      n++;
    }
    return n;
  }
}
