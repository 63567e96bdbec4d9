import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { BentoError, type FieldError } from './errors.js';
import { KERNEL_HEAD_BYTES, vzKernelProblem } from './kernel-format.js';
import { MAX_SOCKET_PATH } from './paths.js';
import { SIZE_RULE, parseSizeMiB } from './size.js';
import { userDataProblem } from './cloud-init.js';
import { checkMounts, MOUNT_RULE } from './mounts.js';
import { duplicateForwards, formatPublish, parsePublish, PUBLISH_RULE } from './net.js';
import type { Backend, CreateRequest, DiskFormat, DiskSpec, Firmware, MountType, PortForward, VmSpec } from './types.js';

/** lima's rule: letters and digits, with single `.`, `_` or `-` between them. */
export const NAME_RE = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;
/** Longest VM name (a DNS label). */
export const NAME_MAX = 63;
/** Smallest memory a VM may have. */
export const MIN_MEMORY_MIB = 64;
/** Defaults for a new VM. */
export const DEFAULTS = { cpus: 1, memoryMiB: 512, accel: 'auto', backend: 'qemu', console: 'serial', network: 'nat' } as const;
/** Memory of a VM made from a cloud image when none is asked for: systemd and cloud-init need more than a kernel guest. */
export const IMAGE_DEFAULT_MEMORY_MIB = 1024;
/** The guest user name rule of cloud-init / useradd (NAME_REGEX of Debian's adduser). */
export const GUEST_USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
import { USER_DATA_MAX } from './limits.js';
export { USER_DATA_MAX };

/** A cached base image a create request resolved to (the manager pulls it before the final validation). */
export interface ResolvedImage {
  ref: string;
  sha256: string;
  path: string;
  format: DiskFormat;
  /** The image's virtual disk size in MiB, when known. */
  virtualSizeMiB: number | null;
  /** The firmware the image needs (x86 cloud images boot with SeaBIOS; arm64 ones need UEFI). */
  firmware: Firmware;
}

/** What validation needs to know about the host; injected so tests are pure. */
export interface HostFacts {
  cpus: number;
  memoryMiB: number;
  /** What is at a path: a regular file, something else, or nothing. */
  stat(p: string): 'file' | 'other' | 'missing';
  /** Why a backend cannot run VMs here, or null when it can; absent: every backend is assumed usable. */
  backendUnavailable?(backend: Backend): string | null;
  /** Longest name whose VM-folder socket paths fit the socket path limit under this home; absent: NAME_MAX. */
  maxNameLength?: number;
  /** The first `n` bytes of a file (for the vz kernel check), or null when it cannot be read; absent: no check. */
  readHead?(p: string, n: number): Buffer | null;
  /** The host's CPU architecture; absent: this process's. */
  arch?: 'arm64' | 'x64';
  /** A folder's real path (symlinks resolved), or why it cannot be shared; absent: `stat` decides (other = folder). */
  realDir?(p: string): string | 'missing' | 'not-a-directory';
  /** How a new share would reach the guest here (virtiofsd found or not); absent: 9p on qemu, virtio-fs on vz. */
  mountType?(backend: Backend, readonly: boolean): MountType;
}

/** A field error when the vz backend could not boot this kernel on this host (checked at create and PATCH). */
function vzKernelErrors(host: HostFacts, kernel: string | null | undefined): FieldError[] {
  if (!kernel || !host.readHead || host.stat(kernel) !== 'file') return [];
  const head = host.readHead(kernel, KERNEL_HEAD_BYTES);
  if (!head) return [];
  const problem = vzKernelProblem(kernel, head, host.arch ?? (process.arch === 'arm64' ? 'arm64' : 'x64'));
  return problem ? [{ field: 'kernel', message: problem }] : [];
}

/**
 * Kernel COMMAND_LINE_SIZE, counting the final NUL: 2048 on x86_64 (arch/x86/include/asm/setup.h)
 * and on arm64 (arch/arm64/include/uapi/asm/setup.h). A longer line is cut or refused at boot.
 */
export const COMMAND_LINE_SIZE = 2048;

/** Adds a `cmdline` field error when the command line is longer than the kernel takes. */
export function checkCmdline(cmdline: string | null | undefined, out: FieldError[]): void {
  if (cmdline === undefined || cmdline === null) return;
  const bytes = Buffer.byteLength(cmdline);
  if (bytes > COMMAND_LINE_SIZE - 1) {
    out.push({ field: 'cmdline', message: `must be at most ${COMMAND_LINE_SIZE - 1} bytes (the kernel's COMMAND_LINE_SIZE is ${COMMAND_LINE_SIZE} on x86_64 and arm64; got ${bytes})` });
  }
}

function checkNameLength(host: HostFacts, name: string | undefined, out: FieldError[]): void {
  if (name === undefined || host.maxNameLength === undefined || out.some((f) => f.field === 'name')) return;
  if (host.maxNameLength < 1) {
    out.push({ field: 'name', message: 'cannot fit: BENTO_HOME is so long that no VM socket path fits the socket path limit; use a shorter BENTO_HOME' });
  } else if (Buffer.byteLength(name) > host.maxNameLength) {
    out.push({ field: 'name', message: `must be at most ${host.maxNameLength} characters here (its folder's socket paths must fit the ${MAX_SOCKET_PATH}-byte socket path limit under this BENTO_HOME)` });
  }
}

/**
 * The backend of a request that names none: vz where it is usable and the request fits it (no
 * accelerator asked for, no qcow2 disk), since it is the native way to run Linux guests on a Mac; else qemu.
 */
export function defaultBackend(req: Pick<CreateRequest, 'accel'>, disks: DiskSpec[], host: HostFacts): Backend {
  if (!host.backendUnavailable || host.backendUnavailable('vz') !== null) return DEFAULTS.backend;
  if (req.accel !== undefined && req.accel !== 'auto') return DEFAULTS.backend;
  return disks.every((d) => d.format === 'raw') ? 'vz' : DEFAULTS.backend;
}

/** Rules only the vz backend has: it is its own accelerator and reads raw images only. */
function vzFieldErrors(accel: string | undefined, disks: DiskSpec[]): FieldError[] {
  const out: FieldError[] = [];
  if (accel !== undefined && accel !== 'auto') {
    out.push({ field: 'accel', message: `must be auto with the vz backend (Virtualization.framework is its own accelerator; got ${accel})` });
  }
  for (const d of disks.filter((x) => x.format !== 'raw')) {
    out.push({ field: 'disk', message: `is a ${d.format} image and the vz backend takes raw images only (convert it: qemu-img convert -O raw ${d.path} OUT.img)` });
  }
  return out;
}

const nameSchema = z
  .string({ message: 'must be a string' })
  .min(1, { message: 'must not be empty' })
  .max(NAME_MAX, { message: `must be at most ${NAME_MAX} characters` })
  .regex(NAME_RE, { message: 'must be letters and digits, with single . _ or - between them (no slashes, no leading dot)' });

const sizeSchema = z.union([z.string(), z.number()], { message: `must be ${SIZE_RULE}` });
const pathSchema = z.string({ message: 'must be a string' }).min(1, { message: 'must not be empty' });

/** Why a local create refuses backend libvirt: such VMs live on libvirt hosts and are named HOST/NAME. */
export const LIBVIRT_BACKEND_RULE = 'libvirt is the backend of VMs on libvirt hosts: name the VM HOST/NAME to create it there (bento host ls lists the hosts)';

/** The body of POST /api/vms: shapes only; host-dependent rules are checked by validateCreate. */
export const createSchema = z.strictObject({
  name: nameSchema,
  // 'libvirt' passes the shape so that its field error can say where such VMs are made.
  backend: z.enum(['qemu', 'vz', 'libvirt'], { message: 'must be qemu or vz' }).optional(),
  cpus: z.number({ message: 'must be a whole number' }).int({ message: 'must be a whole number' }).optional(),
  memory: sizeSchema.optional(),
  accel: z.enum(['auto', 'kvm', 'hvf', 'tcg'], { message: 'must be auto, kvm, hvf or tcg' }).optional(),
  kernel: pathSchema.optional(),
  initrd: pathSchema.optional(),
  cmdline: z.string({ message: 'must be a string' }).max(4096, { message: 'must be at most 4096 characters' }).optional(),
  disk: pathSchema.optional(),
  diskFormat: z.enum(['qcow2', 'raw'], { message: 'must be qcow2 or raw' }).optional(),
  diskSize: sizeSchema.optional(),
  iso: pathSchema.optional(),
  console: z.enum(['serial', 'virtio'], { message: 'must be serial or virtio' }).optional(),
  image: z.string({ message: 'must be a string' }).min(1, { message: 'must not be empty' }).max(4096, { message: 'must be at most 4096 characters' }).optional(),
  firmware: z.enum(['bios', 'uefi'], { message: 'must be bios or uefi' }).optional(),
  network: z.enum(['nat', 'restricted', 'none'], { message: 'must be nat, restricted or none' }).optional(),
  publish: z.array(z.string({ message: `each must be ${PUBLISH_RULE}` }), { message: 'must be a list of strings' }).max(64, { message: 'must have at most 64 entries' }).optional(),
  cloudInit: z.enum(['auto', 'none'], { message: 'must be auto or none' }).optional(),
  user: z.string({ message: 'must be a string' }).regex(GUEST_USER_RE, { message: 'must be a Linux user name: a lowercase letter or _, then up to 31 lowercase letters, digits, _ or -' }).optional(),
  userData: z.string({ message: 'must be a string (the contents of the user-data file)' }).max(USER_DATA_MAX, { message: `must be at most ${USER_DATA_MAX / 1024} KiB` }).optional(),
  mount: z.array(z.string({ message: `each must be ${MOUNT_RULE}` }), { message: 'must be a list of strings' }).optional(),
});

/** The body of PATCH /api/vms/:name; null clears an optional field. */
export const patchSchema = z.strictObject({
  cpus: createSchema.shape.cpus,
  memory: sizeSchema.optional(),
  accel: createSchema.shape.accel,
  kernel: pathSchema.nullable().optional(),
  initrd: pathSchema.nullable().optional(),
  cmdline: createSchema.shape.cmdline.unwrap().nullable().optional(),
  iso: pathSchema.nullable().optional(),
  console: createSchema.shape.console,
  firmware: createSchema.shape.firmware,
  network: createSchema.shape.network,
  publish: createSchema.shape.publish,
  /** Replaces the whole list of shares. */
  mount: createSchema.shape.mount,
});

/** A PATCH body after shape validation. */
export type PatchRequest = z.infer<typeof patchSchema>;

/** Turns zod issues into bento field errors, one per field and rule. */
export function zodFields(error: z.ZodError): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ field: key, message: 'is not a known field' });
    } else {
      out.push({ field: issue.path.join('.') || '(body)', message: issue.message });
    }
  }
  return out;
}

/** One BentoError carrying every field error of a request. */
export function fieldsError(fields: FieldError[]): BentoError {
  const summary = fields.map((f) => `${f.field} ${f.message}`).join('; ');
  return new BentoError('invalid-input', `invalid VM definition: ${summary}`, { fields });
}

function checkFile(host: HostFacts, field: string, p: string | null | undefined, out: FieldError[]): void {
  if (p === undefined || p === null) return;
  if (!path.isAbsolute(p)) out.push({ field, message: `must be an absolute path (got "${p}")` });
  else if (host.stat(p) === 'missing') out.push({ field, message: `does not exist: ${p}` });
  else if (host.stat(p) === 'other') out.push({ field, message: `is not a regular file: ${p}` });
}

function checkSizes(
  host: HostFacts,
  req: { cpus?: number | undefined; memory?: string | number | undefined },
  out: FieldError[],
): number | undefined {
  if (req.cpus !== undefined && (req.cpus < 1 || req.cpus > host.cpus)) {
    out.push({ field: 'cpus', message: `must be from 1 to ${host.cpus} (this host's CPU count)` });
  }
  if (req.memory === undefined) return undefined;
  const mib = parseSizeMiB(req.memory);
  if (mib === null) out.push({ field: 'memory', message: `must be ${SIZE_RULE} (got "${req.memory}")` });
  else if (mib < MIN_MEMORY_MIB || mib > host.memoryMiB) {
    out.push({ field: 'memory', message: `must be from ${MIN_MEMORY_MIB}M to ${host.memoryMiB}M (this host's RAM)` });
  } else return mib;
  return undefined;
}

/** A validated create request, ready for the store: the spec and the disk to make, if any. */
export interface ValidatedCreate {
  spec: VmSpec;
  /** Size in MiB of a new disk to create inside the VM folder (with an image: the overlay's size, null = the image's). */
  newDiskMiB: number | null;
  /** The user-data to put in the seed beside bento's own cloud-config, when the request gave one. */
  userData: string | null;
}

/** Parses and checks the publish list; errors go to `out` as `publish` field errors. */
function checkPublish(list: string[] | undefined, network: string | undefined, out: FieldError[]): PortForward[] {
  if (list === undefined) return [];
  const parsed: PortForward[] = [];
  list.forEach((v, i) => {
    const f = parsePublish(v);
    if (f) parsed.push(f);
    else out.push({ field: `publish[${i}]`, message: `must be ${PUBLISH_RULE} (got "${v}")` });
  });
  for (const d of duplicateForwards(parsed)) out.push({ field: 'publish', message: `forwards host port ${formatPublish(d)} twice` });
  if (parsed.length && network === 'none') out.push({ field: 'publish', message: 'needs a network (nat or restricted), not none' });
  return parsed;
}

/** The guest user for a seed when the request names none: the host user, unless that is root (cloud images refuse root logins). */
export function defaultGuestUser(hostUser: string): string {
  return hostUser !== 'root' && GUEST_USER_RE.test(hostUser) ? hostUser : 'bento';
}

/**
 * Validates a create body against every rule at once; throws one BentoError listing all fields.
 * A body naming an image is validated twice: once before the image is pulled (`image` undefined:
 * every other rule, the returned spec is not final), then with the resolved image.
 */
export function validateCreate(
  body: unknown,
  host: HostFacts,
  detectFormat: (p: string) => DiskFormat,
  image?: ResolvedImage,
  hostUser = 'bento',
): ValidatedCreate {
  const parsed = createSchema.safeParse(body);
  const out: FieldError[] = parsed.success ? [] : zodFields(parsed.error);
  // Host rules run on every field whose shape is right, even when another field is malformed, so a
  // request learns all of its problems at once.
  const req = (parsed.success ? parsed.data : wellTyped<CreateRequest>(createSchema, body, out)) as CreateRequest;
  const memoryMiB = checkSizes(host, req, out);
  checkNameLength(host, req.name, out);
  checkCmdline(req.cmdline, out);
  for (const f of ['kernel', 'initrd', 'disk', 'iso'] as const) checkFile(host, f, req[f], out);
  if (req.initrd !== undefined && req.kernel === undefined) out.push({ field: 'initrd', message: 'needs kernel' });
  if (req.cmdline !== undefined && req.kernel === undefined) out.push({ field: 'cmdline', message: 'needs kernel' });
  if (req.disk !== undefined && req.diskSize !== undefined) out.push({ field: 'diskSize', message: 'cannot be used with disk' });
  if (req.diskFormat !== undefined && req.disk === undefined) out.push({ field: 'diskFormat', message: 'needs disk' });
  let newDiskMiB: number | null = null;
  if (req.diskSize !== undefined) {
    const d = parseSizeMiB(req.diskSize);
    if (d === null) out.push({ field: 'diskSize', message: `must be ${SIZE_RULE} (got "${req.diskSize}")` });
    else if (d < 1 || d > 64 * 1024 * 1024) out.push({ field: 'diskSize', message: 'must be from 1M to 64T' });
    else if (image?.virtualSizeMiB && d < image.virtualSizeMiB) {
      out.push({ field: 'diskSize', message: `must be at least the image's own size, ${image.virtualSizeMiB}M (a disk cannot shrink below its image; got ${d}M)` });
    } else newDiskMiB = d;
  }
  if (parsed.success && !req.kernel && !req.disk && !req.iso && !req.image && req.diskSize === undefined) {
    out.push({ field: 'kernel', message: 'a VM needs something to boot: image, kernel, disk, diskSize or iso' });
  }
  if (req.image !== undefined) {
    for (const f of ['kernel', 'disk'] as const) {
      if (req[f] !== undefined) out.push({ field: f, message: `cannot be used with image (the image boots with its own bootloader and is the VM's disk)` });
    }
  } else {
    for (const f of ['cloudInit', 'user', 'userData'] as const) {
      if (req[f] !== undefined) out.push({ field: f, message: 'needs image (the cloud-init seed is made for cloud images)' });
    }
  }
  if (req.cloudInit === 'none') {
    for (const f of ['user', 'userData'] as const) if (req[f] !== undefined) out.push({ field: f, message: 'cannot be used with cloudInit none' });
  }
  if (req.userData !== undefined) {
    const problem = req.userData.includes('\0') ? 'must be text (it holds a NUL byte)' : userDataProblem(req.userData);
    if (problem) out.push({ field: 'userData', message: problem });
  }
  const publish = checkPublish(req.publish, req.network, out);
  // Checked with the backend asked for (types are settled below, once the default backend is known).
  checkMounts(req.mount, req.backend ?? 'qemu', host, out);
  const unavailable = req.backend && req.backend !== 'libvirt' ? (host.backendUnavailable?.(req.backend) ?? null) : null;
  if (req.backend === 'libvirt') out.push({ field: 'backend', message: LIBVIRT_BACKEND_RULE });
  else if (unavailable !== null) out.push({ field: 'backend', message: `${req.backend} is unavailable here: ${unavailable}` });
  else if (req.backend === 'vz') out.push(...vzFieldErrors(req.accel, []));
  if (out.length) throw fieldsError(out);

  const disks = req.disk
    ? [{ path: req.disk, format: req.diskFormat ?? detectFormat(req.disk), owned: false, readonly: false }]
    : [];
  // An image VM's disk is a qcow2 overlay, which only QEMU reads.
  const backend = req.backend ?? (req.image !== undefined ? DEFAULTS.backend : defaultBackend(req, disks, host));
  const diskErrors = backend === 'vz' ? [...vzFieldErrors(undefined, disks), ...vzKernelErrors(host, req.kernel)] : [];
  if (backend === 'vz' && req.image !== undefined) {
    diskErrors.push({ field: 'image', message: 'is not supported with the vz backend yet (its disk is a qcow2 overlay, which Virtualization.framework cannot read); use --backend qemu' });
  }
  if (diskErrors.length) throw fieldsError(diskErrors);
  const arm = (host.arch ?? (process.arch === 'arm64' ? 'arm64' : 'x64')) === 'arm64';
  const firmware: Firmware = req.firmware ?? image?.firmware ?? (arm ? 'uefi' : 'bios');
  const seeded = req.image !== undefined && req.cloudInit !== 'none';
  const mounts = checkMounts(req.mount, backend, host, []);
  return {
    spec: {
      name: req.name,
      backend,
      cpus: req.cpus ?? DEFAULTS.cpus,
      memoryMiB: memoryMiB ?? (req.image !== undefined ? IMAGE_DEFAULT_MEMORY_MIB : DEFAULTS.memoryMiB),
      accel: req.accel ?? DEFAULTS.accel,
      kernel: req.kernel ?? null,
      initrd: req.initrd ?? null,
      cmdline: req.cmdline ?? null,
      disks,
      iso: req.iso ?? null,
      mac: randomMac(),
      console: req.console ?? DEFAULTS.console,
      createdAt: new Date().toISOString(),
      image: image ? { ref: image.ref, sha256: image.sha256, path: image.path, format: image.format } : null,
      firmware,
      network: req.network ?? DEFAULTS.network,
      publish,
      cloudInit: seeded ? { user: req.user ?? defaultGuestUser(hostUser), instanceId: `bento-${randomBytes(8).toString('hex')}` } : null,
      mounts,
    },
    newDiskMiB,
    userData: req.userData ?? null,
  };
}

/** The fields of a body that passed their own shape check in `schema` (those without an error in `out`). */
export function wellTyped<T>(schema: z.ZodObject, body: unknown, out: FieldError[]): Partial<T> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  const bad = new Set(out.map((f) => f.field));
  const shape = schema.shape as Record<string, z.ZodType>;
  const res: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (!bad.has(k) && shape[k]?.safeParse(v).success) res[k] = v;
  }
  return res as Partial<T>;
}

/** Applies a PATCH body to a spec, validating it the same way as create; returns the new spec. */
export function applyPatch(spec: VmSpec, body: unknown, host: HostFacts): VmSpec {
  const parsed = patchSchema.safeParse(body);
  if (!parsed.success) throw fieldsError(zodFields(parsed.error));
  const p = parsed.data;
  const out: FieldError[] = [];
  const memoryMiB = checkSizes(host, p, out);
  for (const f of ['kernel', 'initrd', 'iso'] as const) checkFile(host, f, p[f], out);
  checkCmdline(p.cmdline, out);
  const publish = p.publish !== undefined ? checkPublish(p.publish, p.network ?? spec.network, out) : undefined;
  if (publish === undefined && p.network === 'none' && spec.publish.length) {
    out.push({ field: 'network', message: `cannot be none while the VM publishes ports (${spec.publish.map(formatPublish).join(', ')}); clear publish too` });
  }
  const mounts = p.mount !== undefined ? checkMounts(p.mount, spec.backend, host, out, spec.mounts) : undefined;
  const next: VmSpec = {
    ...spec,
    ...(p.cpus !== undefined ? { cpus: p.cpus } : {}),
    ...(memoryMiB !== undefined ? { memoryMiB } : {}),
    ...(p.accel !== undefined ? { accel: p.accel } : {}),
    ...(p.console !== undefined ? { console: p.console } : {}),
    ...(p.kernel !== undefined ? { kernel: p.kernel } : {}),
    ...(p.initrd !== undefined ? { initrd: p.initrd } : {}),
    ...(p.cmdline !== undefined ? { cmdline: p.cmdline } : {}),
    ...(p.iso !== undefined ? { iso: p.iso } : {}),
    ...(p.firmware !== undefined ? { firmware: p.firmware } : {}),
    ...(p.network !== undefined ? { network: p.network } : {}),
    ...(publish !== undefined ? { publish } : {}),
    ...(mounts !== undefined ? { mounts } : {}),
  };
  if (next.initrd && !next.kernel) out.push({ field: 'initrd', message: 'needs kernel' });
  if (next.cmdline && !next.kernel) out.push({ field: 'cmdline', message: 'needs kernel' });
  if (!next.kernel && next.disks.length === 0 && !next.iso && !next.image) {
    out.push({ field: 'kernel', message: 'a VM needs something to boot: kernel, disk or iso' });
  }
  if (next.backend === 'vz') out.push(...vzFieldErrors(next.accel, []), ...(p.kernel !== undefined ? vzKernelErrors(host, next.kernel) : []));
  if (out.length) throw fieldsError(out);
  return next;
}

/** A locally administered unicast MAC in QEMU's 52:54:00 range. */
export function randomMac(): string {
  const b = randomBytes(3);
  return ['52', '54', '00', ...[...b].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

/** Checks the new name of an existing VM (clone, rename) by the same rules as a create's name; errors name the field `name`. */
export function validateName(value: unknown, host: HostFacts): string {
  const r = nameSchema.safeParse(value);
  const out: FieldError[] = r.success ? [] : r.error.issues.map((i) => ({ field: 'name', message: i.message }));
  if (r.success) checkNameLength(host, r.data, out);
  if (out.length || !r.success) throw fieldsError(out);
  return r.data;
}
