import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

// A V8 code cache for a classic script (dist/tui.cjs, see scripts/tui-script.mjs): the compiled
// bytecode of the functions the script ran, saved after the first run and handed back to V8 next
// time, so opening the TUI does not parse and compile Ink, React and the screens again.
//
// The cache is only an accelerator: a missing, stale, corrupt, foreign or unwritable cache is
// ignored and the script compiles from source. Cached bytecode is code, so it is only used from a
// directory and a file that belong to this user and that nobody else can write.

/** The first bytes of a cache file (its format version). */
const MAGIC = Buffer.from('BENTOV8\x02', 'latin1');
/** How long a cache of another install of the script is kept without being refreshed. */
const STALE_MS = 30 * 24 * 3600 * 1000;
/** After MAGIC: the payload's length and checksum, 32 bits each. */
const HEADER_BYTES = MAGIC.length + 8;

/** What happened to the cache when a script loaded. */
export type CacheUse = 'hit' | 'miss' | 'rejected' | 'corrupt' | 'unsafe' | 'off';

/** A loaded script, and how to save its code cache once it has run what it usually runs. */
export interface CachedScript<T> {
  /** What the script's body put in module.exports. */
  exports: T;
  /** How the cache was used: hit (V8 took it), miss (none), rejected (V8 refused it), corrupt, unsafe, off. */
  cache: CacheUse;
  /** The cache file for this script, this node and this build of it (null: caching off). */
  file: string | null;
  /** Writes the cache unless it was a hit; never throws. Returns whether a file was written. */
  save(): boolean;
}

/** Where bento keeps code caches: $XDG_CACHE_HOME/bento/code-cache, else ~/.cache/bento/code-cache. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, 'bento', 'code-cache');
}

/** Owned by this user and not writable by group or others: only then is cached code trusted. */
function ownedAndPrivate(st: fs.Stats): boolean {
  return (process.getuid === undefined || st.uid === process.getuid()) && (st.mode & 0o022) === 0;
}

/**
 * FNV-1a over 32-bit words (a 32-bit hex string): catches a damaged cache file (the bytes V8 gets
 * are not checked by V8 itself in release builds) without loading node:crypto on the way to the
 * first frame. Trust is the owner and mode checks' job, not this.
 */
export function checksum(data: Uint8Array): string {
  let h = 0x811c9dc5;
  const words = Math.floor(data.length / 4);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < words; i++) h = Math.imul(h ^ view.getUint32(i * 4, true), 0x01000193);
  for (let i = words * 4; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The cache file name: the script's name and a hash of its path (two installs keep their own
 * caches), then, spelt out, everything that makes its bytecode valid: this V8 and node, and this
 * build of the script (size, modification time, inode: a rebuild changes them).
 */
function cacheName(file: string, st: fs.Stats): { name: string; prefix: string } {
  const prefix = `${path.basename(file)}-${checksum(Buffer.from(path.resolve(file)))}-`;
  const key = [process.version, process.arch, process.versions.v8, st.size, st.mtimeMs, st.ino].join('-').replace(/[^\w.-]/g, '_');
  return { name: `${prefix}${key}.v8`, prefix };
}

/** The cached bytecode in `file` when it is whole and safe to use; why not otherwise. */
function readCache(file: string): Buffer | 'miss' | 'corrupt' | 'unsafe' {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  } catch {
    return 'miss';
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || !ownedAndPrivate(st) || !ownedAndPrivate(fs.statSync(path.dirname(file)))) return 'unsafe';
    const data = fs.readFileSync(fd);
    if (data.length <= HEADER_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) return 'corrupt';
    const payload = data.subarray(HEADER_BYTES);
    const ok = data.readUInt32LE(MAGIC.length) === payload.length && data.readUInt32LE(MAGIC.length + 4) === Number.parseInt(checksum(payload), 16);
    return ok ? payload : 'corrupt';
  } catch {
    return 'corrupt';
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes `data` as the cache file atomically (a private temporary file renamed), removing older caches of the same script. */
function writeCache(dir: string, { name, prefix }: { name: string; prefix: string }, data: Buffer): boolean {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!ownedAndPrivate(fs.statSync(dir))) return false;
  const target = path.join(dir, name);
  const tmp = `${target}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      MAGIC.copy(header);
      header.writeUInt32LE(data.length, MAGIC.length);
      header.writeUInt32LE(Number.parseInt(checksum(data), 16), MAGIC.length + 4);
      fs.writeSync(fd, header);
      fs.writeSync(fd, data);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  // Caches of earlier builds of this script (or of another node) are dead weight; so are those of
  // an install elsewhere (another prefix) that nobody has refreshed for a month.
  const family = prefix.slice(0, prefix.lastIndexOf('-', prefix.length - 2) + 1);
  for (const old of fs.readdirSync(dir)) {
    if (old === name || !old.startsWith(family) || !(old.endsWith('.v8') || old.endsWith('.tmp'))) continue;
    const file = path.join(dir, old);
    if (old.startsWith(prefix) && old.endsWith('.v8')) fs.rmSync(file, { force: true });
    else if (Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > STALE_MS) fs.rmSync(file, { force: true });
  }
  return true;
}

/** The cache file `loadCachedScript(file, dir)` reads and writes for the script as it is now. */
export function cacheFileFor(file: string, dir: string): string {
  return path.join(dir, cacheName(file, fs.statSync(file)).name);
}

/**
 * Runs the classic script `file` (a CommonJS body, given exports, require, module, __filename,
 * __dirname and `__bentoScriptUrl` for import.meta.url) with the V8 code cache kept in `dir`
 * (null: no cache). Only the script's own errors are thrown; cache trouble never is.
 */
export function loadCachedScript<T>(file: string, dir: string | null): CachedScript<T> {
  const source = fs.readFileSync(file, 'utf8');
  const st = fs.statSync(file);
  const names = cacheName(file, st);
  const cacheFile = dir === null ? null : path.join(dir, names.name);
  const cached = cacheFile === null ? 'miss' : readCache(cacheFile);
  const cachedData = Buffer.isBuffer(cached) ? cached : undefined;
  // On the first line, so line numbers in stack traces are the file's own.
  const wrapped = `(function (exports, require, module, __filename, __dirname, __bentoScriptUrl) {${source}\n})`;
  const script = new vm.Script(wrapped, { filename: file, ...(cachedData ? { cachedData } : {}) });
  const cache: CacheUse = cacheFile === null ? 'off' : cachedData ? (script.cachedDataRejected ? 'rejected' : 'hit') : (cached as Exclude<typeof cached, Buffer>);
  const body = script.runInThisContext() as (...args: unknown[]) => void;
  const module = { exports: {} as T };
  body.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file), pathToFileURL(file).href);
  let saved = false;
  return {
    exports: module.exports,
    cache,
    file: cacheFile,
    save() {
      if (cacheFile === null || cache === 'hit' || saved) return false;
      saved = true;
      try {
        return writeCache(path.dirname(cacheFile), names, script.createCachedData());
      } catch {
        return false; // read-only home, full disk, a race with another bento: next time, then
      }
    },
  };
}
