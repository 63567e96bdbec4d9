/**
 * The create and edit forms as data: which fields show for which boot source, the request they
 * make, and where the API's field errors go. No validation happens here: bentod checks everything
 * and answers with every field error at once, which the form shows beside its fields.
 *
 * A cloud image is the first boot source and the default: name an image (a catalog id, a pulled
 * image, a path or a URL) and bentod makes the VM's disk an overlay on it, with a cloud-init seed,
 * SSH and forwarded ports. Kernel + initrd, a disk image and an ISO installer are the expert choices.
 *
 * With libvirt hosts configured the form gets a host row. A VM on a libvirt host has paths on that
 * host and none of what bento builds locally: no cloud image, published ports or new disk (bentod
 * refuses them there), so those rows go and the boot and network choices narrow to what fits.
 */
import type { BentoError } from '../vm/errors.js';
import { LOCAL_HOST, joinVmName } from '../vm/host-name.js';
import { formatMiB } from '../vm/size.js';
import type { CreateRequest, NetworkMode, Vm } from '../vm/types.js';

/** The form's fields. */
export type FieldId =
  | 'name'
  | 'host'
  | 'boot'
  | 'image'
  | 'kernel'
  | 'initrd'
  | 'cmdline'
  | 'disk'
  | 'iso'
  | 'cpus'
  | 'memory'
  | 'diskSize'
  | 'network'
  | 'publish';

/** What a new VM boots from. */
export type BootMode = 'image' | 'kernel' | 'disk' | 'iso';

/** The boot choices, in the order ←/→ cycles them; the first is the default. */
export const BOOT_MODES: readonly BootMode[] = ['image', 'kernel', 'disk', 'iso'];

const BOOT_LABELS: Record<BootMode, string> = { image: 'cloud image', kernel: 'kernel + initrd', disk: 'disk image', iso: 'ISO installer' };

/** How a boot choice reads in the form. */
export function bootLabel(mode: BootMode): string {
  return BOOT_LABELS[mode];
}

/** The network choices, in the order ←/→ cycles them. */
export const NETWORK_MODES: readonly NetworkMode[] = ['nat', 'restricted', 'none'];

/** On a libvirt host: its own paths to boot from (no cloud image), and no restricted network (libvirt's user networking cannot restrict). */
export const LIBVIRT_BOOT_MODES: readonly BootMode[] = ['kernel', 'disk', 'iso'];
export const LIBVIRT_NETWORK_MODES: readonly NetworkMode[] = ['nat', 'none'];

/** Whether the form's host is a libvirt host (every host but local is). */
export function onLibvirt(values: Pick<FormValues, 'host'>): boolean {
  return values.host !== '' && values.host !== LOCAL_HOST;
}

/** What the form says under its rows when a libvirt host is chosen: where paths are, and what is missing there. */
export function libvirtNote(host: string): string {
  return `On ${host} (libvirt) paths are on that host. Cloud images, published ports, shared folders and new disks are not available there: boot a kernel, a disk image or an ISO that is already on ${host}.`;
}

const NETWORK_NOTES: Record<NetworkMode, string> = {
  nat: 'outbound and forwarded ports',
  restricted: 'forwarded ports, no outbound',
  none: 'no network card: no SSH',
};

/** What a network choice means, shown beside it. */
export function networkNote(mode: string): string {
  return NETWORK_NOTES[mode as NetworkMode] ?? '';
}

/** Fields whose value is one of a few choices, turned with ←/→. */
export const CHOICE_FIELDS: ReadonlySet<FieldId> = new Set(['host', 'boot', 'network']);

/** One row of the form. */
export interface FieldDef {
  id: FieldId;
  label: string;
  /** Shown dim beside an empty field without an error. */
  hint: string;
}

/** Values as typed (the boot field holds a BootMode). */
export type FormValues = Record<FieldId, string>;

const DEF: Record<FieldId, FieldDef> = {
  name: { id: 'name', label: 'name', hint: 'letters, digits, . _ -' },
  host: { id: 'host', label: 'host', hint: '←/→ to change' },
  boot: { id: 'boot', label: 'boot from', hint: '←/→ to change' },
  image: { id: 'image', label: 'image', hint: '↓ picks one; or a path or URL' },
  kernel: { id: 'kernel', label: 'kernel', hint: 'absolute path' },
  initrd: { id: 'initrd', label: 'initrd', hint: 'absolute path (optional)' },
  cmdline: { id: 'cmdline', label: 'cmdline', hint: 'console=ttyS0' },
  disk: { id: 'disk', label: 'disk', hint: 'qcow2 or raw image path' },
  iso: { id: 'iso', label: 'iso', hint: 'absolute path' },
  cpus: { id: 'cpus', label: 'cpus', hint: '1' },
  memory: { id: 'memory', label: 'memory', hint: '512M, 2G' },
  diskSize: { id: 'diskSize', label: 'disk size', hint: 'new disk, like 8G (optional)' },
  network: { id: 'network', label: 'network', hint: '←/→ to change' },
  publish: { id: 'publish', label: 'publish', hint: 'like 8080:80, 2222:22/tcp' },
};

// Hints that read differently for an image VM.
const IMAGE_HINTS: Partial<Record<FieldId, string>> = {
  memory: '1G by default, like 2G',
  diskSize: "grow the image's disk, like 20G",
};

// Hints on a libvirt host: its paths are that host's.
const LIBVIRT_HINTS: Partial<Record<FieldId, string>> = {
  kernel: 'absolute path on that host',
  initrd: 'path on that host (optional)',
  disk: 'image path on that host',
  iso: 'absolute path on that host',
};

const CREATE_FIELDS: Record<BootMode, FieldId[]> = {
  image: ['name', 'boot', 'image', 'cpus', 'memory', 'diskSize', 'network', 'publish'],
  kernel: ['name', 'boot', 'kernel', 'initrd', 'cmdline', 'cpus', 'memory', 'diskSize'],
  disk: ['name', 'boot', 'disk', 'cpus', 'memory'],
  iso: ['name', 'boot', 'iso', 'cpus', 'memory', 'diskSize'],
};
// A libvirt host: no new disk (bentod refuses diskSize there), and the network is chosen for every source.
const LIBVIRT_FIELDS: Record<BootMode, FieldId[]> = {
  image: ['name', 'boot', 'kernel', 'initrd', 'cmdline', 'cpus', 'memory', 'network'],
  kernel: ['name', 'boot', 'kernel', 'initrd', 'cmdline', 'cpus', 'memory', 'network'],
  disk: ['name', 'boot', 'disk', 'cpus', 'memory', 'network'],
  iso: ['name', 'boot', 'iso', 'cpus', 'memory', 'network'],
};
const EDIT_FIELDS: FieldId[] = ['cpus', 'memory', 'kernel', 'initrd', 'cmdline', 'iso'];

function fieldIds(boot: BootMode, libvirt: boolean): FieldId[] {
  const table = libvirt ? LIBVIRT_FIELDS : CREATE_FIELDS;
  return table[boot] ?? table.image;
}

/**
 * The rows of the create form for a boot choice. `host` is the chosen host when there are several
 * (a host row follows the name), or null when this machine is the only one.
 */
export function createFields(boot: BootMode, host: string | null = null): FieldDef[] {
  const libvirt = host !== null && host !== LOCAL_HOST;
  const ids = fieldIds(boot, libvirt);
  const withHost = host === null ? ids : [ids[0]!, 'host' as const, ...ids.slice(1)];
  const hints = libvirt ? LIBVIRT_HINTS : boot === 'image' ? IMAGE_HINTS : {};
  return withHost.map((id) => (hints[id] ? { ...DEF[id], hint: hints[id] } : DEF[id]));
}

/** The rows of the edit form (what PATCH can change on a stopped VM). */
export function editFields(): FieldDef[] {
  return EDIT_FIELDS.map((id) => DEF[id]);
}

const EMPTY: FormValues = {
  name: '',
  host: LOCAL_HOST,
  boot: 'image',
  image: '',
  kernel: '',
  initrd: '',
  cmdline: '',
  disk: '',
  iso: '',
  cpus: '',
  memory: '',
  diskSize: '',
  network: 'nat',
  publish: '',
};

// bentod's memory default: more for a cloud image, whose distribution expects it.
const MEMORY_DEFAULT: Record<BootMode, string> = { image: '1G', kernel: '512M', disk: '512M', iso: '512M' };

/** A blank create form with bento's defaults filled in (an image VM). */
export function createValues(): FormValues {
  return { ...EMPTY, cpus: '1', memory: MEMORY_DEFAULT.image };
}

/** The values after switching the boot source: an untouched memory default follows the source's. */
export function switchBoot(values: FormValues, boot: BootMode): FormValues {
  const before = MEMORY_DEFAULT[values.boot as BootMode];
  return { ...values, boot, memory: values.memory === before ? MEMORY_DEFAULT[boot] : values.memory };
}

/** The values after choosing a host: on a libvirt host, a cloud image becomes a kernel boot and a restricted network none. */
export function switchHost(values: FormValues, host: string): FormValues {
  const next = { ...values, host };
  if (!onLibvirt(next)) return next;
  const boot = LIBVIRT_BOOT_MODES.includes(values.boot as BootMode) ? next : switchBoot(next, 'kernel');
  return LIBVIRT_NETWORK_MODES.includes(values.network as NetworkMode) ? boot : { ...boot, network: 'none' };
}

function step<T>(list: readonly T[], cur: T, turn: number): T {
  const i = Math.max(list.indexOf(cur), 0);
  return list[(((i + turn) % list.length) + list.length) % list.length]!;
}

/** The next choice of a choice field, `turn` steps on (wrapping); `hosts` are the host row's choices. */
export function turnChoice(values: FormValues, id: FieldId, turn: number, hosts: readonly string[] = [LOCAL_HOST]): FormValues {
  const libvirt = onLibvirt(values);
  if (id === 'host') return hosts.length ? switchHost(values, step(hosts, values.host, turn)) : values;
  if (id === 'boot') {
    const modes = libvirt ? LIBVIRT_BOOT_MODES : BOOT_MODES;
    const cur = modes.includes(values.boot as BootMode) ? (values.boot as BootMode) : modes[0]!;
    return switchBoot(values, modes.includes(values.boot as BootMode) ? step(modes, cur, turn) : cur);
  }
  if (id === 'network') {
    const modes = libvirt ? LIBVIRT_NETWORK_MODES : NETWORK_MODES;
    return { ...values, network: step(modes, values.network as NetworkMode, turn) };
  }
  return values;
}

/** The publish field as the API takes it: comma-separated entries, trimmed, empty ones dropped. */
export function publishList(text: string): string[] {
  return text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

/** The edit form for a VM, filled from its spec. */
export function editValues(vm: Vm): FormValues {
  const s = vm.spec;
  return {
    ...EMPTY,
    name: vm.name,
    cpus: String(s.cpus),
    memory: formatMiB(s.memoryMiB),
    kernel: s.kernel ?? '',
    initrd: s.initrd ?? '',
    cmdline: s.cmdline ?? '',
    iso: s.iso ?? '',
  };
}

// A number when it is one; otherwise the text as typed, so bentod names the problem.
function cpusValue(text: string): number | string {
  return /^\s*\d+\s*$/.test(text) ? Number(text) : text;
}

/** The POST /api/vms body for the create form: the fields of the chosen boot source, empty ones left out. */
export function createRequest(values: FormValues): CreateRequest {
  const boot = (BOOT_MODES as readonly string[]).includes(values.boot) ? (values.boot as BootMode) : 'image';
  const name = values.name.trim();
  // The host row names the host; a name typed as HOST/VM already says it.
  const host = values.host || LOCAL_HOST;
  const req: Record<string, unknown> = { name: name.includes('/') ? name : joinVmName(host, name) };
  for (const id of fieldIds(boot, onLibvirt(values))) {
    if (id === 'name' || id === 'boot' || id === 'host') continue;
    const v = id === 'cmdline' ? values[id] : values[id].trim();
    if (v === '') continue;
    if (id === 'publish') {
      const list = publishList(v);
      if (list.length) req.publish = list;
    } else req[id] = id === 'cpus' ? cpusValue(v) : v;
  }
  return req as unknown as CreateRequest;
}

/** The PATCH body for the edit form: only what changed; a cleared path or cmdline becomes null. */
export function patchBody(vm: Vm, values: FormValues): Record<string, unknown> {
  const before = editValues(vm);
  const body: Record<string, unknown> = {};
  for (const id of EDIT_FIELDS) {
    const v = id === 'cmdline' ? values[id] : values[id].trim();
    if (v === before[id]) continue;
    if (id === 'cpus') body.cpus = cpusValue(v);
    else if (id === 'memory') body.memory = v;
    else body[id] = v === '' ? null : v;
  }
  return body;
}

// API field names that have no row of their own, and the row that stands for them.
const ALIASES: Record<string, FieldId> = { diskFormat: 'disk' };
// Rows that stand in for a field the form does not show now: "needs something to boot" is said of
// the kernel, which an image VM's form has no row for.
const FALLBACK: Record<string, FieldId> = { kernel: 'image' };

/** The form row of an API field: `publish[1]` is the publish row's second entry. */
export function fieldRow(field: string, shown: ReadonlySet<string>): FieldId | null {
  const base = field.replace(/\[\d+\]$/, '');
  const id = ALIASES[base] ?? base;
  if (shown.has(id)) return id as FieldId;
  const alt = FALLBACK[id];
  return alt && shown.has(alt) ? alt : null;
}

/** Sorts an API error's field errors onto the form's rows; the rest is for the form's own error line. */
export function placeErrors(err: BentoError, fields: readonly FieldDef[]): { byField: Partial<Record<FieldId, string>>; other: string[] } {
  const shown = new Set<string>(fields.map((f) => f.id));
  const byField: Partial<Record<FieldId, string>> = {};
  const other: string[] = [];
  for (const f of err.fields ?? []) {
    const id = fieldRow(f.field, shown);
    if (id) byField[id] = byField[id] ? `${byField[id]}; ${f.message}` : f.message;
    else other.push(`${f.field} ${f.message}`);
  }
  if (!err.fields?.length) other.push(err.message);
  return { byField, other };
}
