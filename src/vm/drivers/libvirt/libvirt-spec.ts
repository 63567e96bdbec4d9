import path from 'node:path';
import { z } from 'zod';
import type { FieldError } from '../../errors.js';
import { SIZE_RULE, parseSizeMiB } from '../../size.js';
import { DEFAULTS, MIN_MEMORY_MIB, checkCmdline, createSchema, fieldsError, randomMac, wellTyped, zodFields } from '../../spec.js';
import { storedSpecSchema } from '../../store.js';
import type { CreateRequest, DiskFormat, VmSpec } from '../../types.js';

/** Most vCPUs a libvirt create may ask for; the host itself refuses more than it can run when the VM starts. */
export const LIBVIRT_MAX_CPUS = 1024;
/** Most memory a libvirt create may ask for (16 TiB); the host checks its own RAM when the VM starts. */
export const LIBVIRT_MAX_MEMORY_MIB = 16 * 1024 * 1024;

/** Why each create field bento cannot honour on a libvirt host is refused (a field error's message). */
const REFUSED: Readonly<Record<string, string>> = {
  diskSize: 'is not available on libvirt hosts (bento does not create disks there): give --disk PATH of an image on that host',
  image: "is not available on libvirt hosts (bento's image cache is local): give --disk PATH of an image on that host",
  publish: "is not available on libvirt hosts (port forwards belong to bento's own qemu user network)",
  mount: 'is not available on libvirt hosts (shared folders need virtiofsd or 9p beside a local qemu)',
  user: 'is not available on libvirt hosts (it belongs to the cloud-init seed, and a seed needs an image)',
  userData: 'is not available on libvirt hosts (it belongs to the cloud-init seed, and a seed needs an image)',
};

/** The refusal of one field's value on a libvirt host, or null when the shape check may judge it. */
function refusal(field: string, value: unknown): string | null {
  if (Object.hasOwn(REFUSED, field)) return REFUSED[field] ?? null;
  if (field === 'cloudInit' && value !== 'none' && value !== 'auto') return 'must be none or auto on libvirt hosts (a cloud-init seed needs an image)';
  if (field === 'network' && value === 'restricted') {
    return 'cannot be restricted on libvirt hosts (libvirt user networking has no restricted mode): use none or nat';
  }
  if (field === 'backend' && value !== 'libvirt') return `must be libvirt on a libvirt host (got ${JSON.stringify(value)})`;
  if (field === 'accel' && value === 'hvf') return 'must be auto, kvm or tcg on libvirt hosts (got hvf)';
  return null;
}

/** The create body's shapes with the backend a libvirt host runs. */
const libvirtCreateSchema = createSchema.extend({
  backend: z.literal('libvirt', { message: 'must be libvirt' }).optional(),
});

type LibvirtCreate = Omit<CreateRequest, 'backend'> & { backend?: 'libvirt' };

/** Control characters (a command line or path is one line) and lone surrogates: neither may go into domain XML. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_TEXT = /[\u0000-\u001f\u007f]|[\ud800-\udfff]/u;

/** The disk format a path's extension tells, or null when it does not. */
export function formatFromExtension(p: string): DiskFormat | null {
  const ext = path.posix.extname(p).toLowerCase();
  if (ext === '.qcow2') return 'qcow2';
  if (ext === '.raw' || ext === '.img') return 'raw';
  return null;
}

/**
 * Validates a create request for a libvirt host (the body of POST /api/vms with `name` already
 * stripped of its `HOST/` prefix) and returns the VmSpec to store in the domain's metadata. Every
 * problem is reported at once, as one BentoError('invalid-input') naming each field and its rule.
 * Paths are paths on that host: they must be absolute and are not looked at here.
 */
export function libvirtSpecFromRequest(body: unknown, now: Date = new Date()): VmSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw fieldsError([{ field: '(body)', message: 'must be a JSON object' }]);
  const out: FieldError[] = [];
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (v === undefined) continue;
    const why = refusal(k, v);
    if (why !== null) out.push({ field: k, message: why });
    else rest[k] = v;
  }
  const parsed = libvirtCreateSchema.safeParse(rest);
  if (!parsed.success) out.push(...zodFields(parsed.error));
  // The rules below run on every field whose own shape is right, so a request learns all its problems at once.
  const req = (parsed.success ? parsed.data : wellTyped<LibvirtCreate>(libvirtCreateSchema, rest, out)) as LibvirtCreate;

  checkCmdline(req.cmdline, out);
  if (req.cmdline !== undefined && UNSAFE_TEXT.test(req.cmdline)) out.push({ field: 'cmdline', message: 'must be one line of text (no control characters)' });
  for (const f of ['kernel', 'initrd', 'disk', 'iso'] as const) {
    const p = req[f];
    if (p === undefined) continue;
    if (UNSAFE_TEXT.test(p)) out.push({ field: f, message: 'must be a path without control characters' });
    else if (!path.posix.isAbsolute(p)) out.push({ field: f, message: `must be an absolute path on the libvirt host (got "${p}")` });
  }
  if (req.initrd !== undefined && req.kernel === undefined) out.push({ field: 'initrd', message: 'needs kernel' });
  if (req.cmdline !== undefined && req.kernel === undefined) out.push({ field: 'cmdline', message: 'needs kernel' });
  if (req.diskFormat !== undefined && req.disk === undefined) out.push({ field: 'diskFormat', message: 'needs disk' });
  const format = req.disk !== undefined ? (req.diskFormat ?? formatFromExtension(req.disk)) : null;
  if (req.disk !== undefined && format === null && !out.some((f) => f.field === 'disk')) {
    out.push({ field: 'diskFormat', message: `is needed: the extension of ${req.disk} does not tell qcow2 from raw (.qcow2, .raw and .img do); give diskFormat qcow2 or raw` });
  }
  if (req.cpus !== undefined && (req.cpus < 1 || req.cpus > LIBVIRT_MAX_CPUS)) {
    out.push({ field: 'cpus', message: `must be from 1 to ${LIBVIRT_MAX_CPUS}` });
  }
  let memoryMiB: number = DEFAULTS.memoryMiB;
  if (req.memory !== undefined) {
    const mib = parseSizeMiB(req.memory);
    if (mib === null) out.push({ field: 'memory', message: `must be ${SIZE_RULE} (got "${req.memory}")` });
    else if (mib < MIN_MEMORY_MIB || mib > LIBVIRT_MAX_MEMORY_MIB) out.push({ field: 'memory', message: `must be from ${MIN_MEMORY_MIB}M to 16T` });
    else memoryMiB = mib;
  }
  if (parsed.success && req.kernel === undefined && req.disk === undefined && req.iso === undefined) {
    out.push({ field: 'kernel', message: 'a VM on a libvirt host needs something to boot: kernel, disk or iso (paths on that host)' });
  }
  if (out.length) throw fieldsError(out);

  return {
    name: req.name,
    backend: 'libvirt',
    cpus: req.cpus ?? DEFAULTS.cpus,
    memoryMiB,
    accel: req.accel ?? DEFAULTS.accel,
    kernel: req.kernel ?? null,
    initrd: req.initrd ?? null,
    cmdline: req.cmdline ?? null,
    disks: req.disk !== undefined && format !== null ? [{ path: req.disk, format, owned: false, readonly: false }] : [],
    iso: req.iso ?? null,
    mac: randomMac(),
    console: req.console ?? DEFAULTS.console,
    createdAt: now.toISOString(),
    image: null,
    firmware: req.firmware ?? 'bios',
    network: req.network ?? DEFAULTS.network,
    publish: [],
    cloudInit: null,
    mounts: [],
  };
}


/** The version of the metadata document; a bento that finds a newer one treats the domain as not its own to rewrite. */
export const METADATA_VERSION = 1;

// vm.json's own rules, with the one backend a libvirt host's VM has.
const specSchema = storedSpecSchema.extend({ backend: z.literal('libvirt') });
const metadataSchema = z.object({ version: z.literal(METADATA_VERSION), spec: specSchema });

/** The text of bento's metadata element (before XML escaping): `{"version":1,"spec":{…}}`. */
export function specToMetadata(spec: VmSpec): string {
  return JSON.stringify({ version: METADATA_VERSION, spec });
}

/**
 * The spec in what virDomainGetMetadata returned for bento's namespace: `<vm>{…escaped JSON…}</vm>`
 * (libvirt drops the prefix), the element with its prefix as the domain XML holds it, or the bare
 * JSON text. Null when absent, unparseable, of another version or not a spec; never throws.
 */
export function specFromMetadata(metadata: string | null): VmSpec | null {
  if (metadata === null) return null;
  const text = elementText(metadata.trim());
  if (text === null) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  const r = metadataSchema.safeParse(doc);
  if (!r.success) return null;
  const spec: VmSpec = r.data.spec;
  return spec;
}

const ELEMENT_RE = /^<([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)(?:\s[^>]*)?>([\s\S]*)<\/\1\s*>$/;

/** The decoded text of a single XML element (entities and CDATA), the input itself when it is no element, or null. */
function elementText(s: string): string | null {
  if (!s.startsWith('<')) return s === '' ? null : s;
  const m = ELEMENT_RE.exec(s);
  if (!m) return null;
  let text = '';
  // CDATA sections are taken as they are; everything between them has its entities decoded.
  for (const [i, part] of (m[2] ?? '').split(/<!\[CDATA\[([\s\S]*?)\]\]>/).entries()) {
    if (i % 2 === 1) text += part;
    else {
      if (part.includes('<')) return null;
      const decoded = decodeEntities(part);
      if (decoded === null) return null;
      text += decoded;
    }
  }
  return text;
}

const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML's five named entities and numeric character references; null on anything else. */
function decodeEntities(s: string): string | null {
  let bad = false;
  const out = s.replace(/&(?:(#x[0-9A-Fa-f]+|#[0-9]+|[A-Za-z]+);)?/g, (_, ref: string | undefined) => {
    if (ref === undefined) {
      // A bare `&` is not well-formed XML.
      bad = true;
      return '';
    }
    if (ref.startsWith('#')) {
      const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (cp > 0x10ffff) {
        bad = true;
        return '';
      }
      return String.fromCodePoint(cp);
    }
    const v = NAMED[ref];
    if (v === undefined) bad = true;
    return v ?? '';
  });
  return bad ? null : out;
}
