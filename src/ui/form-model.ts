/**
 * The create and edit forms as data: which fields show for which boot source, the request they
 * make, and where the API's field errors go. No validation happens here: bentod checks everything
 * and answers with every field error at once, which the form shows beside its fields.
 */
import type { BentoError } from '../vm/errors.js';
import { formatMiB } from '../vm/size.js';
import type { CreateRequest, Vm } from '../vm/types.js';

/** The form's fields. */
export type FieldId = 'name' | 'boot' | 'kernel' | 'initrd' | 'cmdline' | 'disk' | 'iso' | 'cpus' | 'memory' | 'diskSize';

/** What a new VM boots from. */
export type BootMode = 'kernel' | 'disk' | 'iso';

/** The boot choices, in the order ←/→ cycles them. */
export const BOOT_MODES: readonly BootMode[] = ['kernel', 'disk', 'iso'];

const BOOT_LABELS: Record<BootMode, string> = { kernel: 'kernel + initrd', disk: 'disk image', iso: 'ISO installer' };

/** How a boot choice reads in the form. */
export function bootLabel(mode: BootMode): string {
  return BOOT_LABELS[mode];
}

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
  boot: { id: 'boot', label: 'boot from', hint: '←/→ to change' },
  kernel: { id: 'kernel', label: 'kernel', hint: 'absolute path' },
  initrd: { id: 'initrd', label: 'initrd', hint: 'absolute path (optional)' },
  cmdline: { id: 'cmdline', label: 'cmdline', hint: 'console=ttyS0' },
  disk: { id: 'disk', label: 'disk', hint: 'qcow2 or raw image path' },
  iso: { id: 'iso', label: 'iso', hint: 'absolute path' },
  cpus: { id: 'cpus', label: 'cpus', hint: '1' },
  memory: { id: 'memory', label: 'memory', hint: '512M, 2G' },
  diskSize: { id: 'diskSize', label: 'disk size', hint: 'new disk, like 8G (optional)' },
};

const CREATE_FIELDS: Record<BootMode, FieldId[]> = {
  kernel: ['name', 'boot', 'kernel', 'initrd', 'cmdline', 'cpus', 'memory', 'diskSize'],
  disk: ['name', 'boot', 'disk', 'cpus', 'memory'],
  iso: ['name', 'boot', 'iso', 'cpus', 'memory', 'diskSize'],
};
const EDIT_FIELDS: FieldId[] = ['cpus', 'memory', 'kernel', 'initrd', 'cmdline', 'iso'];

/** The rows of the create form for a boot choice. */
export function createFields(boot: BootMode): FieldDef[] {
  return CREATE_FIELDS[boot].map((id) => DEF[id]);
}

/** The rows of the edit form (what PATCH can change on a stopped VM). */
export function editFields(): FieldDef[] {
  return EDIT_FIELDS.map((id) => DEF[id]);
}

const EMPTY: FormValues = { name: '', boot: 'kernel', kernel: '', initrd: '', cmdline: '', disk: '', iso: '', cpus: '', memory: '', diskSize: '' };

/** A blank create form with bento's defaults filled in. */
export function createValues(): FormValues {
  return { ...EMPTY, cpus: '1', memory: '512M' };
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
  const boot = (BOOT_MODES as readonly string[]).includes(values.boot) ? (values.boot as BootMode) : 'kernel';
  const req: Record<string, unknown> = { name: values.name.trim() };
  for (const id of CREATE_FIELDS[boot]) {
    if (id === 'name' || id === 'boot') continue;
    const v = id === 'cmdline' ? values[id] : values[id].trim();
    if (v === '') continue;
    req[id] = id === 'cpus' ? cpusValue(v) : v;
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

/** Sorts an API error's field errors onto the form's rows; the rest is for the form's own error line. */
export function placeErrors(err: BentoError, fields: readonly FieldDef[]): { byField: Partial<Record<FieldId, string>>; other: string[] } {
  const shown = new Set<string>(fields.map((f) => f.id));
  const byField: Partial<Record<FieldId, string>> = {};
  const other: string[] = [];
  for (const f of err.fields ?? []) {
    const id = (ALIASES[f.field] ?? f.field) as FieldId;
    if (shown.has(id)) byField[id] = byField[id] ? `${byField[id]}; ${f.message}` : f.message;
    else other.push(`${f.field} ${f.message}`);
  }
  if (!err.fields?.length) other.push(err.message);
  return { byField, other };
}
