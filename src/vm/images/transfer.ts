// The byte-moving parts of a pull: GET with redirects and an idle deadline (node:http, whose
// streams are about twice as fast as fetch's on a local link), small text fetches for checksum
// files, and a writer that hashes each chunk once as it arrives and writes large batches at
// explicit offsets, several in flight, so disk writes overlap hashing and the network.
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { BentoError, errorMessage } from '../errors.js';
import type { ChecksumAlgo } from './types.js';

/** Most redirects a GET follows (mirror redirectors such as Fedora's use one or two). */
export const MAX_REDIRECTS = 10;
/** A download with no byte for this long fails (its .part stays for a resume). */
export const DEFAULT_IDLE_MS = 30_000;
/** Largest checksum file bento reads. */
export const MAX_CHECKSUM_FILE_BYTES = 4 * 1024 * 1024;

/** Options of one GET. */
export interface GetOptions {
  headers?: Record<string, string>;
  signal?: AbortSignal;
  idleMs?: number;
}

/** The error for an aborted transfer. */
export function cancelled(what: string): BentoError {
  return new BentoError('cancelled', `${what}: cancelled`);
}

function requestOnce(url: URL, opts: GetOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.get(url, {
      headers: { 'user-agent': 'bento', 'accept-encoding': 'identity', ...opts.headers },
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const idle = opts.idleMs ?? DEFAULT_IDLE_MS;
    // The socket's idle timer covers connecting, waiting for headers and every gap in the body.
    req.setTimeout(idle, () => req.destroy(new BentoError('download-failed', `GET ${url.href}: no data for ${Math.round(idle / 1000)} s`)));
    req.once('response', resolve);
    req.once('error', (err) => {
      if (opts.signal?.aborted) reject(cancelled(`GET ${url.href}`));
      else reject(err instanceof BentoError ? err : new BentoError('download-failed', `GET ${url.href}: ${errorMessage(err)}`, { cause: err }));
    });
  });
}

/**
 * GETs an http(s) URL, following redirects; resolves with the first response that is not a
 * redirect, whatever its status (the caller decides what 200, 206, 416 or 404 mean).
 */
export async function httpGet(url: string, opts: GetOptions = {}): Promise<{ res: http.IncomingMessage; url: string }> {
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const res = await requestOnce(current, opts);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && status !== 304 && location) {
      res.resume();
      const next = new URL(location, current);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new BentoError('download-failed', `GET ${url}: redirected to a ${next.protocol} URL`);
      current = next;
      continue;
    }
    return { res, url: current.href };
  }
  throw new BentoError('download-failed', `GET ${url}: more than ${MAX_REDIRECTS} redirects`);
}

/** The error for an HTTP status the caller did not expect. */
export function statusError(url: string, res: http.IncomingMessage): BentoError {
  res.resume();
  return new BentoError('download-failed', `GET ${url}: the server answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
}

/** Reads a small text file from an http(s) or file:// URL (a checksum file), at most maxBytes. */
export async function fetchText(url: string, opts: GetOptions & { maxBytes?: number } = {}): Promise<string> {
  const max = opts.maxBytes ?? MAX_CHECKSUM_FILE_BYTES;
  if (url.startsWith('file:')) {
    const file = fileURLToPath(url);
    try {
      const st = fs.statSync(file);
      if (st.size > max) throw new BentoError('download-failed', `${file} is larger than ${max} bytes; not a checksum file`);
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      if (err instanceof BentoError) throw err;
      throw new BentoError('download-failed', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
    }
  }
  const { res } = await httpGet(url, opts);
  if (res.statusCode !== 200) throw statusError(url, res);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of res) {
      size += (c as Buffer).length;
      if (size > max) {
        res.destroy();
        throw new BentoError('download-failed', `${url} is larger than ${max} bytes; not a checksum file`);
      }
      chunks.push(c as Buffer);
    }
  } catch (err) {
    if (err instanceof BentoError) throw err;
    if (opts.signal?.aborted) throw cancelled(`GET ${url}`);
    throw new BentoError('download-failed', `GET ${url}: ${errorMessage(err)}`, { cause: err });
  }
  if (!res.complete) throw new BentoError('download-failed', `GET ${url}: the connection closed early`);
  return Buffer.concat(chunks).toString('utf8');
}

/** The hashes a pull computes: sha256 always (the cache's address), plus the publisher's algorithm when different. */
export class Hashes {
  sha256: Hash = createHash('sha256');
  extra: Hash | null;

  constructor(readonly extraAlgo: ChecksumAlgo | null) {
    this.extra = extraAlgo && extraAlgo !== 'sha256' ? createHash(extraAlgo) : null;
  }

  update(chunk: Buffer): void {
    this.sha256.update(chunk);
    this.extra?.update(chunk);
  }

  /** Starts over (a server that ignored a Range request sends everything again). */
  reset(): void {
    this.sha256 = createHash('sha256');
    this.extra = this.extraAlgo && this.extraAlgo !== 'sha256' ? createHash(this.extraAlgo) : null;
  }

  /** Final digests: sha256, and the publisher's algorithm's (the same hex when that is sha256). */
  digest(): { sha256: string; extra: string | null } {
    const sha256 = this.sha256.digest('hex');
    return { sha256, extra: this.extra ? this.extra.digest('hex') : this.extraAlgo === 'sha256' ? sha256 : null };
  }
}

/** Bytes gathered before one write: large writes keep syscalls and thread-pool hops few. */
export const WRITE_BATCH_BYTES = 4 * 1024 * 1024;
/** Writes in flight at once (each WRITE_BATCH_BYTES). */
export const WRITES_IN_FLIGHT = 4;
/**
 * The writer flushes the file to disk in the background after this many new bytes: the final flush
 * before the image is kept then has little left to do, and a resume after a crash may trust what
 * was flushed (the part's record says how far).
 */
export const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * Hashes and writes a stream of chunks to a file from `start` on. `push` returns false when the
 * source should pause; `onDrain` tells when it may go on. Chunks are hashed as they arrive (once) and
 * written in batches at their own offsets, so up to WRITES_IN_FLIGHT writes run beside the hashing.
 * Every SYNC_EVERY_BYTES the written prefix is flushed (fdatasync) in the background and reported
 * to `onSynced`.
 */
export class HashingWriter {
  /** Bytes handed in so far, counting the starting position. */
  received: number;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private position: number;
  /** Start offsets of the writes in flight: everything below the smallest is on the file. */
  private inFlight = new Set<number>();
  private synced: number;
  private syncing: Promise<void> | null = null;
  private failure: Error | null = null;
  private drainWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly hashes: Hashes,
    private readonly onSynced: (bytes: number) => void = () => undefined,
  ) {
    this.received = start;
    this.position = start;
    this.synced = start;
  }

  /** The first write error, if any: the caller stops its source. */
  get error(): Error | null {
    return this.failure;
  }

  /** Bytes from the start of the file that are all written (though maybe not yet flushed). */
  get written(): number {
    return this.inFlight.size ? Math.min(...this.inFlight) : this.position;
  }

  /** Takes one chunk; false when the caller should pause until onDrain. */
  push(chunk: Buffer): boolean {
    this.hashes.update(chunk);
    this.received += chunk.length;
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= WRITE_BATCH_BYTES) this.flush();
    return this.inFlight.size < WRITES_IN_FLIGHT;
  }

  /** Calls cb once fewer than WRITES_IN_FLIGHT writes are pending. */
  onDrain(cb: () => void): void {
    if (this.inFlight.size < WRITES_IN_FLIGHT) cb();
    else this.drainWaiters.push(cb);
  }

  private flush(): void {
    if (!this.batchBytes) return;
    const bufs = this.batch;
    const at = this.position;
    const want = this.batchBytes;
    this.position += want;
    this.batch = [];
    this.batchBytes = 0;
    this.inFlight.add(at);
    this.fh.writev(bufs, at).then(
      ({ bytesWritten }) => {
        // writev may write less than asked (a full disk): treat it as the failure it is.
        if (bytesWritten !== want) this.failure ??= new Error(`short write (${bytesWritten} of ${want} bytes)`);
        this.settled(at);
      },
      (err: Error) => {
        this.failure ??= err;
        this.settled(at);
      },
    );
  }

  private settled(at: number): void {
    this.inFlight.delete(at);
    if (this.inFlight.size < WRITES_IN_FLIGHT) for (const w of this.drainWaiters.splice(0)) w();
    this.maybeSync();
    if (this.inFlight.size === 0 && !this.syncing) for (const w of this.idleWaiters.splice(0)) w();
  }

  private maybeSync(force = false): void {
    const upTo = this.written;
    if (this.syncing || this.failure || upTo === this.synced || (!force && upTo - this.synced < SYNC_EVERY_BYTES)) return;
    this.syncing = this.fh.datasync().then(
      () => {
        this.synced = upTo;
        this.syncing = null;
        this.onSynced(upTo);
        this.settled(-1);
      },
      (err: Error) => {
        this.failure ??= err;
        this.syncing = null;
        this.settled(-1);
      },
    );
  }

  /**
   * Writes what is buffered, waits for every write, and flushes the file to disk (reporting to
   * onSynced); throws the first write or flush error. Everything received is on disk afterwards.
   */
  async finish(): Promise<void> {
    this.flush();
    while (this.inFlight.size || this.syncing || (!this.failure && this.synced !== this.position)) {
      if (!this.inFlight.size && !this.syncing) this.maybeSync(true);
      await new Promise<void>((r) => this.idleWaiters.push(r));
    }
    if (this.failure) throw this.failure;
  }
}
