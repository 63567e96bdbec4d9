// A real HTTP server on 127.0.0.1 serving a folder laid out as a BENTO_IMAGE_MIRROR
// (`<id>/<arch>/<file>`), with Range/If-Range, ETag and Last-Modified like the publishers' servers,
// and switches for the faults a pull must survive: a connection cut after N bytes, a server that
// ignores Range, a slow link. Every request is recorded.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { BUILTIN_CATALOG } from '../../src/vm/images/catalog.js';

/** One request the server answered. */
export interface ServedRequest {
  method: string;
  /** The URL path, as requested. */
  path: string;
  range: string | null;
  ifRange: string | null;
  status: number;
  /** Body bytes sent (updated as they go). */
  bytesSent: number;
}

/** Switches of the server; change them between requests through `server.options`. */
export interface ImageServerOptions {
  /** End each file response's connection after this many body bytes (null: send everything). */
  cutAfter?: number | null;
  /** Answer 200 with the whole file to a Range request, like servers without range support. */
  ignoreRange?: boolean;
  /** Send at most this many body bytes per second per response (null: as fast as possible). */
  bytesPerSec?: number | null;
  /** Send an ETag (default true); Last-Modified is always sent. */
  etag?: boolean;
}

/** A running image server. */
export interface ImageServer {
  /** Base URL, `http://127.0.0.1:<port>` (no trailing slash): the value for BENTO_IMAGE_MIRROR. */
  url: string;
  requests: ServedRequest[];
  options: ImageServerOptions;
  close(): Promise<void>;
}

function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | null {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  return start >= size || end < start ? 'unsatisfiable' : { start, end };
}

function sendBody(file: string, start: number, end: number, res: http.ServerResponse, rec: ServedRequest, o: ImageServerOptions): void {
  const cut = o.cutAfter ?? null;
  const rate = o.bytesPerSec ?? null;
  const stream = fs.createReadStream(file, { start, end, highWaterMark: rate ? 64 * 1024 : 1024 * 1024 });
  res.on('close', () => stream.destroy());
  if (cut === null && rate === null) {
    stream.on('data', (c) => (rec.bytesSent += c.length));
    stream.pipe(res);
    return;
  }
  const t0 = Date.now();
  // The stream goes on only when the response has drained and the rate allows it.
  let draining = false;
  let sleeping = false;
  const go = (): void => void (!draining && !sleeping && !stream.destroyed && stream.resume());
  stream.on('data', (chunk) => {
    let c = chunk as Buffer;
    if (cut !== null && rec.bytesSent + c.length >= cut) {
      c = c.subarray(0, cut - rec.bytesSent);
      stream.destroy();
      rec.bytesSent += c.length;
      // Every byte up to the cut reaches the client, then the connection ends mid-body.
      res.write(c, () => res.socket?.end());
      return;
    }
    rec.bytesSent += c.length;
    if (!res.write(c)) {
      draining = true;
      stream.pause();
      res.once('drain', () => {
        draining = false;
        go();
      });
    }
    const wait = rate === null ? 0 : t0 + (rec.bytesSent / rate) * 1000 - Date.now();
    if (wait > 0) {
      sleeping = true;
      stream.pause();
      setTimeout(() => {
        sleeping = false;
        go();
      }, wait);
    }
  });
  stream.on('end', () => res.end());
}

/** Serves `root` on 127.0.0.1 (a free port). Paths under `/redirect/` answer 302 to the rest of the path. */
export async function startImageServer(root: string, options: ImageServerOptions = {}): Promise<ImageServer> {
  const requests: ServedRequest[] = [];
  const state = { options: { ...options } };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const rec: ServedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      range: req.headers.range ?? null,
      ifRange: (req.headers['if-range'] as string | undefined) ?? null,
      status: 0,
      bytesSent: 0,
    };
    requests.push(rec);
    const answer = (status: number, headers: http.OutgoingHttpHeaders = {}, body?: string): void => {
      rec.status = status;
      res.writeHead(status, headers);
      res.end(body);
    };
    if (url.pathname.startsWith('/redirect/')) return answer(302, { location: url.pathname.slice('/redirect'.length) });
    const file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(root + path.sep)) return answer(403);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      return answer(404, { 'content-type': 'text/plain' }, 'not found\n');
    }
    if (!st.isFile()) return answer(404);
    const o = state.options;
    const etag = `"${st.size.toString(16)}-${Math.round(st.mtimeMs).toString(16)}"`;
    const lastModified = st.mtime.toUTCString();
    const headers: http.OutgoingHttpHeaders = { 'last-modified': lastModified, 'accept-ranges': o.ignoreRange ? 'none' : 'bytes', ...(o.etag === false ? {} : { etag }) };
    let range = o.ignoreRange ? null : parseRange(req.headers.range, st.size);
    // If-Range: the range only holds while the file is the one the client started with.
    if (range && rec.ifRange && rec.ifRange !== lastModified && (o.etag === false || rec.ifRange !== etag)) range = null;
    if (range === 'unsatisfiable') return answer(416, { ...headers, 'content-range': `bytes */${st.size}` });
    if (req.method === 'HEAD') return answer(200, { ...headers, 'content-length': st.size });
    if (range) {
      rec.status = 206;
      res.writeHead(206, { ...headers, 'content-length': range.end - range.start + 1, 'content-range': `bytes ${range.start}-${range.end}/${st.size}` });
      return sendBody(file, range.start, range.end, res, rec, o);
    }
    rec.status = 200;
    res.writeHead(200, { ...headers, 'content-length': st.size });
    sendBody(file, 0, st.size - 1, res, rec, o);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get options() {
      return state.options;
    },
    set options(v) {
      state.options = v;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Bytes that look like a qcow2 v3 image (magic, version, no backing file, a virtual size) followed by random data. */
export function fakeQcow2(size: number, virtualSize = 64 * 1024 * 1024): Buffer {
  const buf = randomBytes(size);
  buf.fill(0, 0, 104);
  Buffer.from([0x51, 0x46, 0x49, 0xfb]).copy(buf, 0);
  buf.writeUInt32BE(3, 4);
  buf.writeUInt32BE(16, 20);
  buf.writeBigUInt64BE(BigInt(virtualSize), 24);
  buf.writeUInt32BE(104, 100);
  return buf;
}

/** Digests of some bytes. */
export function digests(data: Buffer): { sha256: string; sha512: string } {
  return { sha256: createHash('sha256').update(data).digest('hex'), sha512: createHash('sha512').update(data).digest('hex') };
}

/**
 * Writes `data` into a mirror folder where BENTO_IMAGE_MIRROR expects the built-in entry `id`/`arch`
 * (its file name), with a checksum file in that publisher's format under the publisher's name
 * (SHA512SUMS, SHA256SUMS, Fedora's clear-signed *-CHECKSUM, Alpine's .sha512). `wrongChecksum`
 * publishes the digest of other bytes. Returns the image's path and digests. Takes a file path
 * instead of bytes too (a real disk image), which is copied, not read into memory.
 */
export function mirrorBuiltin(root: string, id: string, arch: 'x86_64' | 'aarch64', data: Buffer | string, opts: { wrongChecksum?: boolean } = {}): { file: string; sha256: string; sha512: string } {
  const e = BUILTIN_CATALOG.find((x) => x.id === id && x.arch === arch);
  if (!e?.checksumUrl) throw new Error(`no built-in image ${id}:${arch}`);
  const dir = path.join(root, id, arch);
  fs.mkdirSync(dir, { recursive: true });
  const name = decodeURIComponent(path.posix.basename(new URL(e.url).pathname));
  const file = path.join(dir, name);
  fs.rmSync(file, { force: true });
  if (typeof data === 'string') fs.copyFileSync(data, file);
  else fs.writeFileSync(file, data);
  const sums = fileDigests(file);
  const published = opts.wrongChecksum ? digests(Buffer.from('other bytes')) : sums;
  const sumsName = decodeURIComponent(path.posix.basename(new URL(e.checksumUrl).pathname));
  const other = 'f'.repeat(128);
  let text: string;
  if (sumsName === 'SHA512SUMS') text = `${other}  unrelated.json\n${published.sha512}  ${name}\n`;
  else if (sumsName === 'SHA256SUMS') text = `${other.slice(0, 64)} *unrelated.img\n${published.sha256} *${name}\n`;
  else if (sumsName.endsWith('-CHECKSUM')) {
    text = ['-----BEGIN PGP SIGNED MESSAGE-----', 'Hash: SHA256', '', `# ${name}: ${fs.statSync(file).size} bytes`, `SHA256 (${name}) = ${published.sha256}`, '-----BEGIN PGP SIGNATURE-----', '', 'c2lnbmF0dXJl', '-----END PGP SIGNATURE-----', ''].join('\n');
  } else text = `${published.sha512}  ${name}\n`;
  fs.writeFileSync(path.join(dir, sumsName), text);
  return { file, ...sums };
}

/** Digests of a file, streamed in chunks. */
export function fileDigests(file: string): { sha256: string; sha512: string } {
  const a = createHash('sha256');
  const b = createHash('sha512');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(4 * 1024 * 1024);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      a.update(buf.subarray(0, n));
      b.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return { sha256: a.digest('hex'), sha512: b.digest('hex') };
}
