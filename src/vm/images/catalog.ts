// The image catalog: the built-in entries, the user's $BENTO_HOME/images.json on top, an optional
// mirror for everything (BENTO_IMAGE_MIRROR), and the resolution of what a user types (`debian-12`,
// `debian-12:aarch64`, a path, a URL) into something the cache can fetch.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { BentoError, errorMessage, type FieldError } from '../errors.js';
import { IMAGE_FILES } from '../paths.js';
import { BUILTIN_CATALOG, firmwareFor } from './builtin.js';
import { parseInlineChecksum } from './checksum-file.js';
import type { CatalogEntry, ImageArch, ResolvedImage } from './types.js';

export { BUILTIN_CATALOG } from './builtin.js';

/** The environment variable that points the whole catalog at a mirror. */
export const MIRROR_ENV = 'BENTO_IMAGE_MIRROR';

/** A catalog id: lowercase letters, digits and `.`, `_`, `-`, starting with a letter or digit. */
export const IMAGE_ID_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const ID_RULE = "must be lowercase letters, digits, '.', '_' or '-', at most 63, starting with a letter or digit (like debian-12)";
/** At least this many hex digits name a cached image by its sha256. */
export const MIN_SHA_PREFIX = 12;
const SHA_PREFIX_RE = /^(?:sha256[-:])?([0-9a-f]{12,64})$/;

/** The rule every image reference must follow, for error messages. */
export const IMAGE_REF_RULE = 'must be a catalog id, an absolute path or a URL';

/** The architecture of this host, as image names spell it. */
export function hostImageArch(): ImageArch {
  return process.arch === 'arm64' ? 'aarch64' : 'x86_64';
}

/** Reads an architecture name (aliases amd64/x64 and arm64 accepted); null when it is none. */
export function parseArch(text: string): ImageArch | null {
  const a = text.toLowerCase();
  if (a === 'x86_64' || a === 'amd64' || a === 'x64') return 'x86_64';
  if (a === 'aarch64' || a === 'arm64') return 'aarch64';
  return null;
}

/** The sha256 (or prefix of one) a reference names, or null when it is not one. */
export function shaPrefixOf(ref: string): string | null {
  return SHA_PREFIX_RE.exec(ref.trim().toLowerCase())?.[1] ?? null;
}

function badRef(ref: string, why = IMAGE_REF_RULE, hint = ''): BentoError {
  return new BentoError('invalid-input', `image ${why} (got ${JSON.stringify(ref)})${hint}`, { fields: [{ field: 'image', message: `${why} (got ${JSON.stringify(ref)})` }] });
}

/** Turns an http(s) URL, file:// URL or absolute path into a URL string; null when it is none of them. */
export function normalizeLocation(text: string): string | null {
  if (path.isAbsolute(text)) return pathToFileURL(path.resolve(text)).href;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return null;
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') return u.href;
  if (u.protocol === 'file:') {
    try {
      return pathToFileURL(fileURLToPath(u)).href;
    } catch {
      return null;
    }
  }
  return null;
}

const LOCATION_RULE = 'must be an http(s):// URL, a file:// URL or an absolute path';
const location = z.string({ message: LOCATION_RULE }).refine((s) => normalizeLocation(s) !== null, { message: LOCATION_RULE });

const userEntrySchema = z.strictObject({
  id: z.string({ message: 'is required' }).regex(IMAGE_ID_RE, { message: ID_RULE }).refine((s) => shaPrefixOf(s) === null, { message: 'must not look like a sha256 prefix (hex only)' }),
  arch: z.enum(['x86_64', 'aarch64'], { message: 'must be x86_64 or aarch64' }),
  url: location.optional(),
  checksumUrl: location.optional(),
  checksum: z.string({ message: 'must be sha256:<hex> or sha512:<hex>' }).refine((s) => parseInlineChecksum(s) !== null, { message: 'must be sha256:<64 hex digits> or sha512:<128 hex digits>' }).optional(),
  title: z.string({ message: 'must be a string' }).max(200, { message: 'must be at most 200 characters' }).optional(),
  format: z.enum(['qcow2', 'raw'], { message: 'must be qcow2 or raw' }).optional(),
  firmware: z.enum(['bios', 'uefi'], { message: 'must be bios or uefi' }).optional(),
  defaultUser: z.string({ message: 'must be a string or null' }).max(64, { message: 'must be at most 64 characters' }).nullable().optional(),
  os: z.enum(['debian', 'ubuntu', 'fedora', 'alpine', 'linux'], { message: 'must be debian, ubuntu, fedora, alpine or linux' }).optional(),
});
type UserEntry = z.infer<typeof userEntrySchema>;
const userFileSchema = z.strictObject({ images: z.array(z.unknown(), { message: 'must be a list of entries' }) }, { message: 'must be an object with an "images" list' });

/** Error for one bad entry: names the file, the entry (index and id) and each field with its rule. */
function entryError(file: string, index: number, id: unknown, fields: FieldError[]): BentoError {
  const label = `images[${index}]${typeof id === 'string' ? ` (id "${id}")` : ''}`;
  const scoped = fields.map((f) => ({ field: `${label.split(' ')[0]}.${f.field}`, message: f.message }));
  return new BentoError('invalid-input', `${file}: ${label}: ${fields.map((f) => `${f.field}: ${f.message}`).join('; ')}`, { fields: scoped });
}

/**
 * Parses the text of a user catalog file and merges it over `base`: an entry with the id and arch
 * of an existing one overrides it (fields it leaves out are kept, except that a new `url` brings its
 * own checksum or none), any other entry is added. Throws `invalid-input` naming the entry and field.
 */
export function mergeUserCatalog(text: string, file: string, base: readonly CatalogEntry[]): CatalogEntry[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BentoError('invalid-input', `${file}: not valid JSON (${errorMessage(err)})`);
  }
  const top = userFileSchema.safeParse(raw);
  if (!top.success) throw new BentoError('invalid-input', `${file}: ${top.error.issues[0]?.path.join('.') || '(file)'}: ${top.error.issues[0]?.message ?? 'invalid'}`);
  const out = [...base];
  top.data.images.forEach((item, i) => {
    const r = userEntrySchema.safeParse(item);
    const id = (item as { id?: unknown } | null)?.id;
    if (!r.success) {
      const known = Object.keys(userEntrySchema.shape).join(', ');
      const fields = r.error.issues.flatMap((iss) =>
        iss.code === 'unrecognized_keys'
          ? iss.keys.map((k) => ({ field: k, message: `is not a known field (known: ${known})` }))
          : [{ field: iss.path.join('.') || '(entry)', message: iss.message }],
      );
      throw entryError(file, i, id, fields);
    }
    const u: UserEntry = r.data;
    const at = out.findIndex((e) => e.id === u.id && e.arch === u.arch);
    const merged = buildEntry(u, at >= 0 ? out[at]! : null, (field, message) => entryError(file, i, u.id, [{ field, message }]));
    if (at >= 0) out[at] = merged;
    else out.push(merged);
  });
  return out;
}

function buildEntry(u: UserEntry, over: CatalogEntry | null, fail: (field: string, message: string) => BentoError): CatalogEntry {
  if (u.checksum && u.checksumUrl) throw fail('checksum', 'give either checksum or checksumUrl, not both');
  if (u.arch === 'aarch64' && u.firmware === 'bios') throw fail('firmware', 'must be uefi for aarch64 (aarch64 always boots with UEFI)');
  const url = u.url !== undefined ? normalizeLocation(u.url)! : over?.url;
  if (url === undefined) throw fail('url', `is required for a new entry (${LOCATION_RULE})`);
  // A new url brings its own checksum (or none): the old checksum file would not list it.
  const sums = u.url !== undefined || u.checksum || u.checksumUrl ? { checksumUrl: u.checksumUrl, checksum: u.checksum } : { checksumUrl: over?.checksumUrl, checksum: over?.checksum };
  if (/^https?:/.test(url) && !sums.checksum && !sums.checksumUrl) {
    throw fail('checksumUrl', 'an http(s) image needs checksumUrl or checksum (only local files may go without one)');
  }
  return {
    id: u.id,
    title: u.title ?? over?.title ?? u.id,
    arch: u.arch,
    url,
    ...(sums.checksumUrl ? { checksumUrl: normalizeLocation(sums.checksumUrl)! } : {}),
    ...(sums.checksum ? { checksum: sums.checksum.toLowerCase() } : {}),
    format: u.format ?? over?.format ?? 'qcow2',
    firmware: u.firmware ?? over?.firmware ?? firmwareFor(u.arch),
    defaultUser: u.defaultUser !== undefined ? u.defaultUser : (over?.defaultUser ?? null),
    os: u.os ?? over?.os ?? 'linux',
    origin: 'user',
  };
}

/** Checks a mirror base URL (http(s):// or file://) and drops trailing slashes. */
export function parseMirror(text: string): string {
  const base = text.trim().replace(/\/+$/, '');
  const ok = /^(https?|file):\/\//.test(base) && normalizeLocation(base) !== null;
  if (!ok) {
    throw new BentoError('invalid-input', `${MIRROR_ENV} must be an http(s):// or file:// URL (got ${JSON.stringify(text)})`, {
      fields: [{ field: MIRROR_ENV, message: 'must be an http(s):// or file:// URL' }],
    });
  }
  return base;
}

const basename = (url: string): string => path.posix.basename(new URL(url).pathname);

/** Points an http(s) entry at a mirror: `<mirror>/<id>/<arch>/<file name>` for the image and its checksum file. */
export function mirrorEntry(e: CatalogEntry, mirror: string): CatalogEntry {
  if (!/^https?:/.test(e.url)) return e;
  // The basename comes from a URL's path, so it is already percent-encoded; ids are URL-safe by their rule.
  const at = (url: string): string => `${mirror}/${e.id}/${e.arch}/${basename(url)}`;
  return { ...e, url: at(e.url), ...(e.checksumUrl ? { checksumUrl: at(e.checksumUrl) } : {}) };
}

/** Options of the catalog: the home (for images.json) and the environment (for the mirror). */
export interface CatalogOptions {
  home: string;
  env?: NodeJS.ProcessEnv;
}

/** The catalog in effect: built-ins, then the user's images.json, then the mirror (read afresh each call). */
export function loadCatalog(opts: CatalogOptions): CatalogEntry[] {
  const file = path.join(opts.home, IMAGE_FILES.userCatalog);
  let entries: CatalogEntry[] = [...BUILTIN_CATALOG];
  let text: string | null = null;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new BentoError('io-error', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
  if (text !== null) entries = mergeUserCatalog(text, file, entries);
  const mirror = (opts.env ?? process.env)[MIRROR_ENV];
  if (mirror) {
    const base = parseMirror(mirror);
    entries = entries.map((e) => mirrorEntry(e, base));
  }
  return entries;
}

function adhoc(ref: string, url: string, arch: ImageArch, checksum: string | undefined): ResolvedImage {
  const file = url.startsWith('file:') ? fileURLToPath(url) : null;
  const name = path.posix.basename(new URL(url).pathname) || url;
  return {
    ref,
    key: url,
    entry: {
      id: null,
      title: name,
      arch,
      url,
      ...(checksum ? { checksum } : {}),
      format: /\.raw$/i.test(name) ? 'raw' : 'qcow2',
      firmware: firmwareFor(arch),
      defaultUser: null,
      os: 'linux',
      origin: 'adhoc',
    },
    source: file ? { kind: 'file', path: file } : { kind: 'http', url },
  };
}

/** Splits `id[:arch]`; null when the text is not shaped like a catalog id. */
function splitId(ref: string, arch: ImageArch): { id: string; arch: ImageArch } | null {
  const m = /^([^:]+)(?::([^:]+))?$/.exec(ref);
  if (!m || !IMAGE_ID_RE.test(m[1]!)) return null;
  if (m[2] === undefined) return { id: m[1]!, arch };
  const a = parseArch(m[2]);
  if (!a) throw badRef(ref, 'architecture (after the colon) must be x86_64 or aarch64');
  return { id: m[1]!, arch: a };
}

/** True for a reference that names a location (absolute path or URL) rather than a catalog id: it needs no catalog. */
export function isLocationRef(ref: string): boolean {
  const text = ref.trim();
  return path.isAbsolute(text) || /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^file:/i.test(text);
}

/**
 * The key refs.json uses for a reference, without looking at the catalog: `<id>:<arch>` for an id
 * (arch defaulting to `arch`), the URL without fragment for URLs and absolute paths.
 */
export function refKey(ref: string, arch: ImageArch = hostImageArch()): string {
  const text = ref.trim();
  if (path.isAbsolute(text) || /^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    const url = normalizeLocation(text.replace(/#.*$/, ''));
    if (!url) throw badRef(ref);
    return url;
  }
  const parts = splitId(text, arch);
  if (!parts) throw badRef(ref);
  return `${parts.id}:${parts.arch}`;
}

/**
 * Resolves what a user typed: a catalog id (`debian-12`, `debian-12:aarch64`), an absolute path,
 * or a file:// or http(s):// URL (an http(s) URL may carry `#sha256=<hex>` or `#sha512=<hex>`).
 * `arch` is the architecture to pick when the reference names none (the host's by default).
 */
export function resolveRef(ref: string, catalog: readonly CatalogEntry[], arch: ImageArch = hostImageArch()): ResolvedImage {
  const text = ref.trim();
  if (!text) throw badRef(ref);
  if (path.isAbsolute(text) || /^file:/i.test(text)) {
    const url = normalizeLocation(text);
    if (!url) throw badRef(ref);
    return adhoc(ref, url, arch, undefined);
  }
  if (/^https?:\/\//i.test(text)) {
    const hash = text.indexOf('#');
    const url = normalizeLocation(hash >= 0 ? text.slice(0, hash) : text);
    if (!url) throw badRef(ref);
    let checksum: string | undefined;
    if (hash >= 0) {
      const frag = text.slice(hash + 1);
      const sum = parseInlineChecksum(frag.replace('=', ':'));
      if (!/^sha(256|512)=/.test(frag) || !sum) throw badRef(ref, 'URL fragment must be #sha256=<64 hex digits> or #sha512=<128 hex digits>');
      checksum = `${sum.algo}:${sum.hex}`;
    }
    return adhoc(ref, url, arch, checksum);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) throw badRef(ref, `${IMAGE_REF_RULE} (http, https or file)`);
  const parts = splitId(text, arch);
  if (!parts) throw badRef(ref);
  const ids = [...new Set(catalog.map((e) => e.id))];
  const forId = catalog.filter((e) => e.id === parts.id);
  if (!forId.length) {
    // `disk.qcow2` is shaped like an id, but it is a relative path, which bentod cannot resolve.
    if (/\.(qcow2|img|raw|qcow|iso|vmdk)$/i.test(parts.id)) throw badRef(ref, IMAGE_REF_RULE, '; for a local file, give its absolute path');
    throw new BentoError('not-found', `unknown image "${parts.id}"; the catalog has: ${ids.join(', ')} (or give an absolute path or a URL)`, {
      fields: [{ field: 'image', message: `is not in the catalog (known: ${ids.join(', ')})` }],
    });
  }
  const e = forId.find((x) => x.arch === parts.arch);
  if (!e) {
    throw new BentoError('not-found', `${parts.id} has no ${parts.arch} image (it has: ${forId.map((x) => x.arch).join(', ')})`, {
      fields: [{ field: 'image', message: `has no ${parts.arch} image` }],
    });
  }
  const source: ResolvedImage['source'] = e.url.startsWith('file:') ? { kind: 'file', path: fileURLToPath(e.url) } : { kind: 'http', url: e.url };
  return { ref, key: `${e.id}:${e.arch}`, entry: e, source };
}
