// One download (or local copy) into images/partial/: the publisher's checksum first, then the bytes,
// resumed with Range/If-Range after an interruption. Nothing here decides what is kept; the cache
// verifies the result and moves it into place.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { writeFileSync } from 'atomically';
import { z } from 'zod';
import { BentoError, errorMessage } from '../errors.js';
import { findChecksum, parseChecksumFile, parseInlineChecksum } from './checksum-file.js';
import { HashingWriter, Hashes, cancelled, fetchText, httpGet, statusError } from './transfer.js';
import type { ProgressTracker } from './progress.js';
import type { Checksum, ResolvedImage } from './types.js';

/** A verified-to-be checksum: inline (`url` null) or from the publisher's checksum file. */
export type Expected = (Checksum & { url: string | null }) | null;

/** What a fetch needs from the cache. */
export interface FetchContext {
  partialDir: string;
  signal: AbortSignal;
  idleMs: number;
  log: (line: string) => void;
  progress: ProgressTracker;
}

/** A finished transfer, not yet verified. */
export interface Fetched {
  part: string;
  /** The partial's .json (http downloads), removed with the part. */
  partJson: string | null;
  size: number;
  sha256: string;
  /** The digest in the expected checksum's algorithm (same as sha256 when that is sha256). */
  expectedAlgoHex: string | null;
}

/** Read size for local copies and re-hashing a part: large reads, few syscalls. */
const READ_CHUNK = 4 * 1024 * 1024;

const partialSchema = z.object({
  url: z.string(),
  etag: z.string().nullable(),
  lastModified: z.string().nullable(),
  expected: z.object({ algo: z.enum(['sha256', 'sha512']), hex: z.string() }).nullable(),
  total: z.number().int().min(0).nullable(),
  /** Bytes of the part known to be on disk (flushed); a resume after a crash starts there. */
  confirmed: z.number().int().min(0),
});
type PartialRecord = z.infer<typeof partialSchema>;

/** The file name (without extension) a download of `url` uses under partial/. */
export function partialName(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

/** The file name an image URL ends in, decoded (what checksum files list). */
export function urlFileName(url: string): string {
  return decodeURIComponent(path.posix.basename(new URL(url).pathname));
}

/** The checksum the image must match: inline, from the checksum file (fetched now), or none. */
export async function expectedChecksum(r: ResolvedImage, ctx: FetchContext): Promise<Expected> {
  const e = r.entry;
  if (e.checksum) {
    const sum = parseInlineChecksum(e.checksum);
    if (!sum) throw new BentoError('invalid-input', `${r.ref}: checksum must be sha256:<hex> or sha512:<hex> (got ${e.checksum})`, { fields: [{ field: 'checksum', message: 'must be sha256:<hex> or sha512:<hex>' }] });
    return { ...sum, url: null };
  }
  if (!e.checksumUrl) return null;
  ctx.progress.phase = 'checksum';
  const text = await fetchText(e.checksumUrl, { signal: ctx.signal, idleMs: ctx.idleMs });
  const name = urlFileName(e.url);
  const sum = findChecksum(parseChecksumFile(text), name);
  if (!sum) throw new BentoError('checksum-mismatch', `${r.ref}: the checksum file ${e.checksumUrl} lists no sha256 or sha512 checksum for ${name}; nothing was downloaded`);
  return { ...sum, url: e.checksumUrl };
}

function readPartial(file: string): PartialRecord | null {
  try {
    const r = partialSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/** Removes a part and its record (a failed verification, a restart). */
export function dropPart(part: string, partJson: string | null): void {
  fs.rmSync(part, { force: true });
  if (partJson) fs.rmSync(partJson, { force: true });
}

/** Feeds the first `length` bytes of an existing part to the hashes (a resume cannot restore hash state). */
async function rehash(part: string, length: number, hashes: Hashes, signal: AbortSignal): Promise<void> {
  const stream = fs.createReadStream(part, { start: 0, end: length - 1, highWaterMark: READ_CHUNK, signal });
  try {
    for await (const c of stream) hashes.update(c as Buffer);
  } catch (err) {
    if (signal.aborted) throw cancelled('re-reading the partial download');
    throw err;
  }
}

/** Moves a stream into the writer with backpressure; resolves at its end, rejects if it ends early. */
function pump(source: Readable, writer: HashingWriter, ctx: FetchContext): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null): void => {
      if (done) return;
      done = true;
      if (err) reject(err);
      else resolve();
    };
    source.on('data', (c: Buffer) => {
      if (!writer.push(c)) {
        source.pause();
        writer.onDrain(() => source.resume());
      }
      ctx.progress.received = writer.received;
      if (writer.error) source.destroy(writer.error);
    });
    source.once('end', () => finish(null));
    source.once('error', (err) => finish(err));
    source.once('close', () => finish(new Error('the connection closed early')));
  });
}

function contentRange(value: string | undefined): { start: number; total: number | null } | null {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(value ?? '');
  return m ? { start: Number(m[1]), total: m[2] === '*' ? null : Number(m[2]) } : null;
}

function contentLength(value: string | undefined): number | null {
  return value && /^\d+$/.test(value) ? Number(value) : null;
}

/** Copies a local image into partial/ (streamed and hashed; no resume: a local read is cheap to redo). */
async function copyLocal(r: ResolvedImage, file: string, expected: Expected, ctx: FetchContext): Promise<Fetched> {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new BentoError('not-found', `image: no such file ${file}`, { fields: [{ field: 'image', message: `no such file: ${file}` }] });
  }
  if (!st.isFile()) throw new BentoError('invalid-input', `image: ${file} is not a regular file`, { fields: [{ field: 'image', message: 'must be a regular file' }] });
  const part = path.join(ctx.partialDir, `${partialName(r.entry.url)}.part`);
  const hashes = new Hashes(expected?.algo ?? null);
  const fh = await fs.promises.open(part, 'w', 0o600);
  const writer = new HashingWriter(fh, 0, hashes);
  Object.assign(ctx.progress, { phase: 'download', received: 0, total: st.size, resumedFrom: 0 });
  ctx.progress.startRate();
  try {
    try {
      await pump(fs.createReadStream(file, { highWaterMark: READ_CHUNK, signal: ctx.signal }), writer, ctx);
    } finally {
      await writer.finish().catch(() => undefined);
    }
    if (writer.error) throw writer.error;
  } catch (err) {
    await fh.close();
    dropPart(part, null);
    if (ctx.signal.aborted) throw cancelled(`copying ${file}`);
    throw new BentoError('io-error', `copying ${file} into the image cache: ${errorMessage(err)}`, { cause: err });
  }
  await fh.close();
  const d = hashes.digest();
  return { part, partJson: null, size: writer.received, sha256: d.sha256, expectedAlgoHex: d.extra };
}

/**
 * Downloads an http(s) image into partial/<sha256 of url>.part. An earlier interrupted download of
 * the same URL and expected checksum resumes with `Range: bytes=N-` and `If-Range` (its ETag, else
 * its Last-Modified), after re-hashing its bytes; a server that answers 200 instead of 206 is
 * followed from zero. On failure the part stays for the next pull.
 */
async function download(r: ResolvedImage, url: string, expected: Expected, ctx: FetchContext): Promise<Fetched> {
  const name = partialName(url);
  const part = path.join(ctx.partialDir, `${name}.part`);
  const partJson = path.join(ctx.partialDir, `${name}.json`);
  const prev = readPartial(partJson);
  const validator = prev?.etag && !prev.etag.startsWith('W/') ? prev.etag : (prev?.lastModified ?? null);
  const sameExpected = (prev?.expected?.hex ?? null) === (expected?.hex ?? null);
  // Only what was flushed before an interruption is trusted: after a crash, later bytes may be holes.
  let offset = prev && prev.url === url && sameExpected && validator ? Math.min(sizeOf(part), prev.confirmed) : 0;
  if (!offset) dropPart(part, partJson);
  const hashes = new Hashes(expected?.algo ?? null);
  if (offset) await rehash(part, offset, hashes, ctx.signal);

  let { res } = await httpGet(url, { signal: ctx.signal, idleMs: ctx.idleMs, headers: offset ? { range: `bytes=${offset}-`, 'if-range': validator! } : {} });
  let total: number | null;
  if (offset && res.statusCode === 206 && contentRange(res.headers['content-range'])?.start === offset) {
    total = contentRange(res.headers['content-range'])!.total;
    ctx.log(`images: ${r.ref}: resuming ${url} at byte ${offset}`);
  } else {
    if (offset && res.statusCode === 416) {
      // The server no longer has what the part was a prefix of (or the part is whole): start over.
      res.resume();
      ({ res } = await httpGet(url, { signal: ctx.signal, idleMs: ctx.idleMs }));
    }
    if (res.statusCode !== 200) throw statusError(url, res);
    if (offset) ctx.log(`images: ${r.ref}: the server sent the whole file instead of bytes ${offset}-: starting over`);
    offset = 0;
    hashes.reset();
    total = contentLength(res.headers['content-length']);
  }
  const etag = res.headers.etag ?? null;
  const lastModified = res.headers['last-modified'] ?? null;
  const record = { url, etag, lastModified, expected: expected ? { algo: expected.algo, hex: expected.hex } : null, total };
  const save = (confirmed: number): void => writeFileSync(partJson, JSON.stringify({ ...record, confirmed } satisfies PartialRecord), { mode: 0o600 });
  save(offset);
  const fh = await fs.promises.open(part, offset ? 'r+' : 'w', 0o600);
  if (offset) await fh.truncate(offset);
  const writer = new HashingWriter(fh, offset, hashes, (n) => {
    try {
      save(n);
    } catch (err) {
      ctx.log(`images: cannot record the progress of ${part}: ${errorMessage(err)}`);
    }
  });
  Object.assign(ctx.progress, { phase: 'download', received: offset, total, resumedFrom: offset });
  ctx.progress.startRate();
  let failure: unknown = null;
  try {
    await pump(res, writer, ctx);
  } catch (err) {
    failure = err;
  }
  // Whatever arrived goes to disk (flushed, and recorded as confirmed), so a resume starts after it.
  await writer.finish().catch((err: unknown) => (failure ??= err));
  if (!failure && total !== null && writer.received !== total) failure = new Error(`got ${writer.received} of ${total} bytes`);
  await fh.close();
  if (failure) {
    if (ctx.signal.aborted) throw cancelled(`GET ${url}`);
    const of = total !== null ? ` of ${total}` : '';
    throw new BentoError('download-failed', `GET ${url}: ${errorMessage(failure)} after ${writer.received}${of} bytes; pull again to resume`, { cause: failure });
  }
  const d = hashes.digest();
  return { part, partJson, size: writer.received, sha256: d.sha256, expectedAlgoHex: d.extra };
}

/** Brings an image's bytes into partial/: a download for http(s), a copy for a local file. */
export function fetchPart(r: ResolvedImage, expected: Expected, ctx: FetchContext): Promise<Fetched> {
  return r.source.kind === 'file' ? copyLocal(r, r.source.path, expected, ctx) : download(r, r.source.url, expected, ctx);
}
