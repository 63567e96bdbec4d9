import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';
import { z } from 'zod';
import { BentoError, errorMessage } from './errors.js';
import { FILES, vmDir, vmsDir } from './paths.js';
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
});

/** vm.json's schema version; bump it and add a migration when the stored shape changes. */
export const SPEC_VERSION = '1.0.0';

// JSON schema for conf, derived from the zod schema so the two can never drift apart.
const jsonSchema = z.toJSONSchema(storedSpecSchema) as { properties: Record<string, object> };

function openConf(dir: string): Conf<VmSpec> {
  return new Conf<VmSpec>({
    cwd: dir,
    configName: 'vm',
    schema: jsonSchema.properties as never,
    projectVersion: SPEC_VERSION,
    // Each entry upgrades older vm.json files in place, atomically, the first time they are opened.
    migrations: { '1.0.0': () => undefined },
    clearInvalidConfig: false,
    accessPropertiesByDotNotation: false,
    configFileMode: 0o600,
    watch: false,
  });
}

/** The VM definitions on disk: one folder per VM under $BENTO_HOME/vms, the spec in a conf store. */
export class InstanceStore {
  readonly home: string;
  private cache = new Map<string, VmSpec>();

  constructor(home: string) {
    this.home = home;
  }

  /** Creates the folders (0700) and loads every stored VM; unreadable ones are reported, not deleted. */
  load(): { loaded: number; problems: string[] } {
    fs.mkdirSync(vmsDir(this.home), { recursive: true, mode: 0o700 });
    fs.chmodSync(this.home, 0o700);
    fs.chmodSync(vmsDir(this.home), 0o700);
    const problems: string[] = [];
    this.cache.clear();
    for (const entry of fs.readdirSync(vmsDir(this.home), { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const file = path.join(vmsDir(this.home), entry.name, FILES.spec);
      if (!fs.existsSync(file)) {
        problems.push(`${entry.name}: no ${FILES.spec} (an interrupted create?); left as it is`);
        continue;
      }
      try {
        this.cache.set(entry.name, this.read(entry.name));
      } catch (err) {
        problems.push(`${entry.name}: ${errorMessage(err)}`);
      }
    }
    return { loaded: this.cache.size, problems };
  }

  private read(name: string): VmSpec {
    const store = openConf(vmDir(this.home, name));
    const { __internal__: _ignored, ...raw } = store.store as VmSpec & { __internal__?: unknown };
    const parsed = storedSpecSchema.safeParse(raw);
    if (!parsed.success) throw new BentoError('io-error', `${store.path} is not a valid VM definition: ${parsed.error.message}`);
    if (parsed.data.name !== name) throw new BentoError('io-error', `${store.path} names "${parsed.data.name}", not "${name}"`);
    return parsed.data;
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

  /**
   * Creates the VM folder and its spec. `provision` runs inside the new folder before the spec is
   * written (it makes disks); if anything fails the folder is removed and nothing is left behind.
   */
  async create(spec: VmSpec, provision: (dir: string) => Promise<VmSpec>): Promise<VmSpec> {
    const dir = vmDir(this.home, spec.name);
    try {
      // mkdir without `recursive` is the atomic claim on the name.
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new BentoError('already-exists', `a VM named "${spec.name}" already exists`);
      throw new BentoError('io-error', `failed to create ${dir}: ${errorMessage(err)}`, { cause: err });
    }
    try {
      const final = await provision(dir);
      this.write(final);
      return final;
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Replaces a VM's spec (atomic write). */
  write(spec: VmSpec): void {
    const store = openConf(vmDir(this.home, spec.name));
    store.store = spec;
    this.cache.set(spec.name, spec);
  }

  /** Removes a VM's folder and everything bento made in it; disks the user brought stay where they are. */
  remove(name: string): void {
    const dir = vmDir(this.home, name);
    // Rename first so the VM disappears in one step; a crash mid-delete leaves only a hidden folder.
    const trash = path.join(vmsDir(this.home), `.deleting-${name}-${process.pid}-${Date.now()}`);
    fs.renameSync(dir, trash);
    this.cache.delete(name);
    fs.rmSync(trash, { recursive: true, force: true });
  }
}
