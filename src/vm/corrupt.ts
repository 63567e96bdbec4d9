import path from 'node:path';
import { BentoError, type FieldError } from './errors.js';
import { fieldsError, validateCreate, type HostFacts } from './spec.js';
import { realPath, type CorruptEntry } from './store.js';
import type { DiskFormat, Vm, VmSpec } from './types.js';

/** How a VM with a broken vm.json looks in the API: state `error`, the problem as its reason. */
export function corruptView(c: CorruptEntry): Vm {
  const p = c.partial;
  const spec: VmSpec = {
    name: c.name,
    backend: p.backend ?? 'qemu',
    cpus: p.cpus ?? 0,
    memoryMiB: p.memoryMiB ?? 0,
    accel: p.accel ?? 'auto',
    kernel: p.kernel ?? null,
    initrd: p.initrd ?? null,
    cmdline: p.cmdline ?? null,
    disks: p.disks ?? [],
    iso: p.iso ?? null,
    mac: p.mac ?? '00:00:00:00:00:00',
    console: p.console ?? 'serial',
    createdAt: p.createdAt ?? '',
    image: p.image ?? null,
    firmware: p.firmware ?? 'bios',
    network: p.network ?? 'nat',
    publish: p.publish ?? [],
    cloudInit: p.cloudInit ?? null,
    mounts: p.mounts ?? [],
  };
  return {
    name: c.name,
    backend: spec.backend,
    state: 'error',
    reason: c.reason,
    // Not a real accelerator choice: the spec could not be read. Stopped VMs show the requested one.
    accel: spec.accel === 'auto' ? 'tcg' : spec.accel,
    cpus: spec.cpus,
    memoryMiB: spec.memoryMiB,
    pid: null,
    startedAt: null,
    spec,
    dir: c.dir,
    stopDeadline: null,
    ssh: null,
    ready: null,
    progress: null,
    savedState: null,
    host: 'local',
    reachable: true,
    libvirt: null,
  };
}

/** The error for any action on a broken VM other than inspect, PATCH (full) and rm. */
export function corruptRefusal(c: CorruptEntry): BentoError {
  return new BentoError(
    'invalid-state',
    `${c.name} cannot be used: its definition is broken (${c.reason}); delete it with \`bento rm ${c.name}\` or PATCH it with a complete definition`,
  );
}

/**
 * Validates the PATCH that repairs a broken VM: a complete definition with the fields of create
 * (name optional and must match; no diskSize, the folder exists). Keeps the MAC and creation time
 * when the broken file still had them; a disk inside the VM's own folder is its own (owned).
 */
export function validateRepair(
  name: string,
  body: unknown,
  host: HostFacts,
  detectFormat: (p: string) => DiskFormat,
  dir: string,
  partial: Partial<VmSpec> = {},
): VmSpec {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw fieldsError([{ field: '(body)', message: 'must be a JSON object with a complete VM definition' }]);
  }
  const { name: given, diskSize, ...rest } = body as Record<string, unknown>;
  const out: FieldError[] = [];
  if (given !== undefined && given !== name) out.push({ field: 'name', message: `must be "${name}" (a PATCH cannot rename)` });
  if (diskSize !== undefined) out.push({ field: 'diskSize', message: 'cannot make a new disk while repairing a definition; give disk (an existing image)' });
  if (out.length) throw fieldsError(out);
  const { spec } = validateCreate({ ...rest, name }, host, detectFormat);
  const realDir = realPath(dir);
  return {
    ...spec,
    ...(partial.mac ? { mac: partial.mac } : {}),
    ...(partial.createdAt ? { createdAt: partial.createdAt } : {}),
    disks: spec.disks.map((d) => {
      const rel = path.relative(realDir, realPath(d.path));
      return { ...d, owned: rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) };
    }),
  };
}
