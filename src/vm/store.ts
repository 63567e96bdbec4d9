import fs from 'node:fs';
import path from 'node:path';
import { writeFileSync } from 'atomically';
import { z } from 'zod';
import { BentoError, errorMessage, type FieldError } from './errors.js';
import { FILES, STORE_MARKERS, vmDir, vmsDir } from './paths.js';
import { crashPoint } from './test-hooks.js';
import type { VmSpec } from './types.js';

/** The stored vm.json, checked on every read so a hand-edited file cannot smuggle in bad values. */
export const storedSpecSchema = z.object({
  name: z.string(),
  backend: z.enum(['qemu', 'vz']),
  cpus: z.number().int().min(1),
  memoryMiB: z.number().int().min(1),
  accel: z.enum(['auto', 'kvm', 'hvf', 'tcg']),
  kernel: z.string().nullable(),
  initrd: z.string().nullable(),
  cmdline: z.string().nullable(),
  disks: z.array(
    z.object({ path: z.string(), format: z.enum(['qcow2', 'raw']), owned: z.boolean(), readonly: z.boolean() }),
  ),
  iso: z.string().nullable(),
  mac: z.string().regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/),
  console: z.enum(['serial', 'virtio']),
  createdAt: z.string(),
  // Added in schemaVersion 2 (images, networking); a version 1 file gets these defaults.
  image: z
    .object({ ref: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), path: z.string(), format: z.enum(['qcow2', 'raw']) })
    .nullable()
    .default(null),
  firmware: z.enum(['bios', 'uefi']).default('bios'),
  network: z.enum(['nat', 'restricted', 'none']).default('nat'),
  publish: z
    .array(
      z.object({
        hostIp: z.string(),
        hostPort: z.number().int().min(1).max(65535),
        guestPort: z.number().int().min(1).max(65535),
        protocol: z.enum(['tcp', 'udp']),
      }),
    )
    .default([]),
  cloudInit: z.object({ user: z.string(), instanceId: z.string() }).nullable().default(null),
  // Added in schemaVersion 3 (shared folders); older files have none.
  mounts: z
    .array(
      z.object({
        source: z.string().startsWith('/'),
        target: z.string().startsWith('/'),
        readonly: z.boolean(),
        tag: z.string().regex(/^[A-Za-z0-9_-]{1,31}$/),
        type: z.enum(['virtiofs', '9p']),
      }),
    )
    .max(8)
    .default([]),
});

/**
 * vm.json's `schemaVersion`; bump it and add a step to migrate() when the stored shape changes.
 * Files without the field are version 1 as written by the conf store of earlier bentos (with its
 * `__internal__` key, dropped on load). Version 2 added image, firmware, network, publish and
 * cloudInit; a version 1 file is read with their defaults (no image, bios, nat, no forwards, no
 * seed) and rewritten as version 2. Version 3 added mounts (shared folders); an older file is read
 * with none and rewritten as version 3.
 */
export const SCHEMA_VERSION = 3;

/** A VM folder whose definition cannot be used: listed as `error`, removable, fixable by a full PATCH. */
export interface CorruptEntry {
  name: string;
  dir: string;
  /** `corrupt-spec: <file>: <problem>` */
  reason: string;
  /** Whatever fields of the broken file were individually valid, to show something familiar. */
  partial: Partial<VmSpec>;
}

/** Why a vm.json cannot be used; `partial` holds the fields that were fine. */
class SpecProblem extends Error {
  constructor(
    message: string,
    readonly partial: Partial<VmSpec> = {},
  ) {
    super(message);
  }
}

function zodSummary(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`)
    .join('; ');
}

function partialOf(raw: unknown): Partial<VmSpec> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return {};
  const out: Record<string, unknown> = {};
  const shape = storedSpecSchema.shape as Record<string, z.ZodType>;
  for (const [k, v] of Object.entries(raw)) if (shape[k]?.safeParse(v).success) out[k] = v;
  return out as Partial<VmSpec>;
}

/** Parses a vm.json text for the VM `name`; returns the spec and whether the file needs rewriting (old format). */
export function parseSpecFile(text: string, name: string): { spec: VmSpec; migrated: boolean } {
  if (!text.trim()) throw new SpecProblem('empty file');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new SpecProblem(`not JSON (${errorMessage(err)})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SpecProblem('not a JSON object');
  const { schemaVersion, __internal__: legacy, ...fields } = raw as Record<string, unknown>;
  if (schemaVersion !== undefined && (typeof schemaVersion !== 'number' || !Number.isInteger(schemaVersion) || schemaVersion < 1)) {
    throw new SpecProblem(`schemaVersion must be a whole number of at least 1 (got ${JSON.stringify(schemaVersion)})`, partialOf(fields));
  }
  if (typeof schemaVersion === 'number' && schemaVersion > SCHEMA_VERSION) {
    throw new SpecProblem(`schemaVersion ${schemaVersion} was written by a newer bento (this one reads up to ${SCHEMA_VERSION})`, partialOf(fields));
  }
  const parsed = storedSpecSchema.safeParse(fields);
  if (!parsed.success) throw new SpecProblem(zodSummary(parsed.error), partialOf(fields));
  if (parsed.data.name !== name) throw new SpecProblem(`names "${parsed.data.name}", not "${name}"`, partialOf(fields));
  return { spec: parsed.data, migrated: schemaVersion === undefined || schemaVersion < SCHEMA_VERSION || legacy !== undefined };
}

/** The text written to vm.json. */
export function serializeSpec(spec: VmSpec): string {
  return `${JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...spec }, null, 2)}\n`;
}

/** A path with symlinks resolved when it exists, so two spellings of one file compare equal. */
export function realPath(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** The VM definitions on disk: one folder per VM under $BENTO_HOME/vms, the spec in vm.json (zod-checked, atomic writes). */
export class InstanceStore {
  readonly home: string;
  private cache = new Map<string, VmSpec>();
  private broken = new Map<string, CorruptEntry>();
  /** Disks (real paths) claimed by creates still running, so two cannot take one disk at once. */
  private pendingDisks = new Map<string, string>();
  private readonly log: (line: string) => void;

  constructor(home: string, opts: { log?: (line: string) => void } = {}) {
    this.home = home;
    this.log = opts.log ?? (() => undefined);
  }

  /**
   * Creates the folders (0700) and loads every stored VM. Recovers from a bentod killed mid-way: an
   * interrupted create is rolled back, an interrupted delete is finished. A folder whose definition
   * is unusable is kept and reported as corrupt, never deleted and never hidden.
   */
  load(): { loaded: number; problems: string[] } {
    fs.mkdirSync(vmsDir(this.home), { recursive: true, mode: 0o700 });
    fs.chmodSync(this.home, 0o700);
    fs.chmodSync(vmsDir(this.home), 0o700);
    const problems: string[] = [];
    this.cache.clear();
    this.broken.clear();
    for (const entry of fs.readdirSync(vmsDir(this.home), { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = path.join(vmsDir(this.home), entry.name);
      if (entry.name.startsWith(STORE_MARKERS.deletingPrefix)) {
        fs.rmSync(dir, { recursive: true, force: true });
        problems.push(`${entry.name}: finished a delete that a previous bentod did not complete`);
        continue;
      }
      if (entry.name.startsWith('.')) continue;
      const p = this.loadOne(entry.name, dir);
      if (p) problems.push(`${entry.name}: ${p}`);
    }
    return { loaded: this.cache.size, problems };
  }

  /** Loads one folder; returns a problem to report, or null. */
  private loadOne(name: string, dir: string): string | null {
    const file = path.join(dir, FILES.spec);
    const marker = path.join(dir, STORE_MARKERS.creating);
    let text: string | null = null;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return this.markCorrupt(name, dir, `unreadable (${errorMessage(err)})`, {});
    }
    const creating = fs.existsSync(marker);
    let result: { spec: VmSpec; migrated: boolean } | null = null;
    let problem: SpecProblem | null = null;
    if (text !== null) {
      try {
        result = parseSpecFile(text, name);
      } catch (err) {
        problem = err instanceof SpecProblem ? err : new SpecProblem(errorMessage(err));
      }
    }
    const entries = fs.readdirSync(dir);
    // Interrupted create (marker, or a folder claimed but still empty): nothing in it was ever a VM.
    if ((creating && !result) || entries.length === 0) {
      fs.rmSync(dir, { recursive: true, force: true });
      return 'rolled back a create that a previous bentod did not finish';
    }
    if (creating) fs.rmSync(marker, { force: true });
    const renamed = this.finishRename(name, dir);
    if (renamed) {
      result = renamed;
      problem = null;
    }
    if (text === null && entries.includes(STORE_MARKERS.keptDisks)) {
      return `a deleted VM's folder, kept for disks other VMs use (see ${STORE_MARKERS.keptDisks})`;
    }
    if (text === null) return this.markCorrupt(name, dir, 'missing', {});
    if (problem || !result) return this.markCorrupt(name, dir, problem?.message ?? 'unusable', problem?.partial ?? {});
    this.cache.set(name, result.spec);
    if (result.migrated) {
      try {
        this.writeFile(result.spec);
      } catch (err) {
        return `cannot rewrite ${file} in the current format: ${errorMessage(err)}`;
      }
    }
    return null;
  }

  /**
   * A rename that a previous bentod did not finish: if the folder moved, its vm.json is rewritten
   * from the marker (the new definition); if it did not, the marker is dropped.
   */
  private finishRename(name: string, dir: string): { spec: VmSpec; migrated: boolean } | null {
    const marker = path.join(dir, STORE_MARKERS.renaming);
    let text: string;
    try {
      text = fs.readFileSync(marker, 'utf8');
    } catch {
      return null;
    }
    let done: { spec: VmSpec; migrated: boolean } | null = null;
    try {
      done = parseSpecFile(text, name);
      this.writeFile(done.spec);
      this.log(`${name}: finished a rename that a previous bentod did not complete`);
    } catch {
      done = null;
    }
    fs.rmSync(marker, { force: true });
    return done;
  }

  /**
   * Renames a stopped VM: its folder moves in one rename(2) onto a freshly claimed empty folder (so
   * an existing name is never replaced), then vm.json is rewritten. A marker holding the new
   * definition, written first, lets a load after a crash in between finish the rename.
   */
  rename(oldName: string, spec: VmSpec): void {
    const from = vmDir(this.home, oldName);
    const to = vmDir(this.home, spec.name);
    if (this.cache.has(spec.name) || this.broken.has(spec.name)) throw new BentoError('already-exists', `a VM named "${spec.name}" already exists`);
    try {
      fs.mkdirSync(to, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BentoError('already-exists', `the name "${spec.name}" is taken (${to} exists)`);
      throw new BentoError('io-error', `failed to create ${to}: ${errorMessage(err)}`, { cause: err });
    }
    const marker = path.join(from, STORE_MARKERS.renaming);
    try {
      writeFileSync(marker, serializeSpec(spec), { mode: 0o600 });
      fs.renameSync(from, to);
    } catch (err) {
      fs.rmSync(marker, { force: true });
      try {
        fs.rmdirSync(to);
      } catch {
        // Already gone, or not ours to remove.
      }
      throw new BentoError('io-error', `failed to move ${from} to ${to}: ${errorMessage(err)}`, { cause: err });
    }
    crashPoint('rename-after-move');
    this.writeFile(spec);
    fs.rmSync(path.join(to, STORE_MARKERS.renaming), { force: true });
    this.cache.delete(oldName);
    this.cache.set(spec.name, spec);
  }

  private markCorrupt(name: string, dir: string, problem: string, partial: Partial<VmSpec>): string {
    const reason = `corrupt-spec: ${path.join(dir, FILES.spec)}: ${problem}`;
    this.broken.set(name, { name, dir, reason, partial });
    return reason;
  }

  /** Every VM definition, sorted by name. */
  list(): VmSpec[] {
    return [...this.cache.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One VM definition, or null. */
  get(name: string): VmSpec | null {
    return this.cache.get(name) ?? null;
  }

  /** One VM definition, or a not-found error. */
  require(name: string): VmSpec {
    const spec = this.get(name);
    if (!spec) throw new BentoError('not-found', `no VM named "${name}"`);
    return spec;
  }

  /** Every folder whose definition is broken, sorted by name. */
  listCorrupt(): CorruptEntry[] {
    return [...this.broken.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The corrupt entry of this name, or null. */
  getCorrupt(name: string): CorruptEntry | null {
    return this.broken.get(name) ?? null;
  }

  /**
   * Which VM already uses a disk (after resolving symlinks), other than `self`: a disk listed in
   * another VM's spec, unless both attach it read-only, or a file inside another VM's folder (a
   * corrupt VM owns at least its folder).
   */
  diskUser(disk: string, self: string, readonly = false): string | null {
    const real = realPath(disk);
    for (const spec of this.cache.values()) {
      if (spec.name === self) continue;
      if (spec.disks.some((d) => realPath(d.path) === real && !(readonly && d.readonly))) return spec.name;
    }
    const vms = realPath(vmsDir(this.home));
    if (inside(vms, real)) {
      const owner = path.relative(vms, real).split(path.sep)[0]!;
      if (owner !== self && (this.cache.has(owner) || this.broken.has(owner))) return owner;
    }
    const pending = this.pendingDisks.get(real);
    return pending !== undefined && pending !== self ? pending : null;
  }

  /** Field errors for disks of `spec` that another VM uses while either side writes it (one writer per disk). */
  diskConflicts(spec: VmSpec): FieldError[] {
    const out: FieldError[] = [];
    for (const d of spec.disks) {
      const user = this.diskUser(d.path, spec.name, d.readonly);
      if (user !== null) out.push({ field: 'disk', message: `is already used by VM "${user}" (${d.path}); a disk belongs to one VM at a time` });
    }
    return out;
  }

  /**
   * Creates the VM folder and its spec. `provision` runs inside the new folder before the spec is
   * written (it makes disks); if anything fails the folder is removed and nothing is left behind. A
   * `.creating` marker makes a create that bentod could not finish (killed) roll back at next load.
   */
  async create(spec: VmSpec, provision: (dir: string) => Promise<VmSpec>): Promise<VmSpec> {
    const dir = vmDir(this.home, spec.name);
    const conflicts = this.diskConflicts(spec);
    if (conflicts.length) throw new BentoError('invalid-input', `invalid VM definition: disk ${conflicts[0]!.message}`, { fields: conflicts });
    const corrupt = this.broken.get(spec.name);
    if (corrupt) {
      throw new BentoError('already-exists', `a VM named "${spec.name}" already exists (its definition is broken: bento rm ${spec.name}, or PATCH it with every field)`);
    }
    try {
      // mkdir without `recursive` is the atomic claim on the name.
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        const kept = fs.existsSync(path.join(dir, STORE_MARKERS.keptDisks));
        throw new BentoError(
          'already-exists',
          kept
            ? `the name "${spec.name}" is taken by a deleted VM's folder kept for disks other VMs use (${dir})`
            : `a VM named "${spec.name}" already exists`,
        );
      }
      throw new BentoError('io-error', `failed to create ${dir}: ${errorMessage(err)}`, { cause: err });
    }
    const claimed = spec.disks.map((d) => realPath(d.path));
    for (const d of claimed) this.pendingDisks.set(d, spec.name);
    try {
      fs.writeFileSync(path.join(dir, STORE_MARKERS.creating), `${process.pid}\n`, { mode: 0o600 });
      crashPoint('create-after-mkdir');
      const final = await provision(dir);
      crashPoint('create-after-provision');
      this.write(final);
      fs.rmSync(path.join(dir, STORE_MARKERS.creating), { force: true });
      return final;
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    } finally {
      for (const d of claimed) if (this.pendingDisks.get(d) === spec.name) this.pendingDisks.delete(d);
    }
  }

  private writeFile(spec: VmSpec): void {
    writeFileSync(path.join(vmDir(this.home, spec.name), FILES.spec), serializeSpec(spec), { mode: 0o600 });
  }

  /** Replaces a VM's spec (atomic write: temp file, fsync, rename). */
  write(spec: VmSpec): void {
    this.writeFile(spec);
    this.cache.set(spec.name, spec);
  }

  /** Rewrites the definition of a corrupt VM with a complete new spec; it becomes a normal VM. */
  repair(spec: VmSpec): VmSpec {
    if (!this.broken.has(spec.name)) throw new BentoError('not-found', `no broken VM named "${spec.name}"`);
    const conflicts = this.diskConflicts(spec);
    if (conflicts.length) throw new BentoError('invalid-input', `invalid VM definition: disk ${conflicts[0]!.message}`, { fields: conflicts });
    this.write(spec);
    this.broken.delete(spec.name);
    return spec;
  }

  /**
   * Removes a VM's folder and everything bento made in it; disks the user brought stay where they are,
   * and so does any file in the folder that another VM uses as a disk (the folder then keeps only
   * those files and a note naming them).
   */
  remove(name: string): void {
    const dir = vmDir(this.home, name);
    const realDir = realPath(dir);
    const keep = new Map<string, string>();
    for (const spec of this.cache.values()) {
      if (spec.name === name) continue;
      for (const d of spec.disks) {
        const real = realPath(d.path);
        if (inside(realDir, real)) keep.set(path.relative(realDir, real).split(path.sep)[0]!, spec.name);
      }
    }
    if (keep.size) {
      for (const f of fs.readdirSync(dir)) if (!keep.has(f)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
      const lines = [...keep].map(([f, user]) => `${f} is used by VM "${user}"`);
      fs.writeFileSync(path.join(dir, STORE_MARKERS.keptDisks), `Kept when VM "${name}" was deleted:\n${lines.join('\n')}\n`, { mode: 0o600 });
      this.cache.delete(name);
      this.broken.delete(name);
      this.log(`${name}: deleted, but kept ${lines.join(', ')} in ${dir}`);
      return;
    }
    // Rename first so the VM disappears in one step; a crash mid-delete leaves a hidden folder that the next load finishes.
    const trash = path.join(vmsDir(this.home), `${STORE_MARKERS.deletingPrefix}${name}-${process.pid}-${Date.now()}`);
    fs.renameSync(dir, trash);
    this.cache.delete(name);
    this.broken.delete(name);
    crashPoint('rm-after-rename');
    fs.rmSync(trash, { recursive: true, force: true });
  }
}
