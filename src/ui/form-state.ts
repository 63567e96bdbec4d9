/** The create/edit form's state and keys as a reducer, so keys that arrive together apply in order. */
import { BOOT_MODES, createFields, createValues, editFields, editValues, type BootMode, type FieldDef, type FieldId, type FormValues } from './form-model.js';
import { editLine, type EditKey } from './line-edit.js';
import type { Vm } from '../vm/types.js';

/** Field errors placed on the form. */
export interface FormErrors {
  byField: Partial<Record<FieldId, string>>;
  other: string[];
}

/** The form. */
export interface FormState {
  kind: 'create' | 'edit';
  values: FormValues;
  focus: number;
  cursor: number;
  errors: FormErrors;
  busy: boolean;
  /** Grows when Enter asks to send the form. */
  submits: number;
}

/** What changes the form. */
export type FormAction =
  | { type: 'key'; input: string; key: EditKey & { shift?: boolean } }
  | { type: 'sent' }
  | { type: 'failed'; errors: FormErrors };

/** The rows the form shows now. */
export function formFields(s: Pick<FormState, 'kind' | 'values'>): FieldDef[] {
  return s.kind === 'edit' ? editFields() : createFields(s.values.boot as BootMode);
}

/** A fresh form: create (vm null) or edit. */
export function initialForm(vm: Vm | null): FormState {
  const values = vm ? editValues(vm) : createValues();
  const kind = vm ? 'edit' : 'create';
  const first = formFields({ kind, values })[0]!;
  return { kind, values, focus: 0, cursor: values[first.id].length, errors: { byField: {}, other: [] }, busy: false, submits: 0 };
}

/** The form after an action. */
export function formReducer(s: FormState, a: FormAction): FormState {
  const fields = formFields(s);
  if (a.type === 'sent') return { ...s, busy: false };
  if (a.type === 'failed') {
    // The cursor goes to the first field with a problem.
    const first = fields.findIndex((f) => a.errors.byField[f.id]);
    const focus = first >= 0 ? first : s.focus;
    return { ...s, busy: false, errors: a.errors, focus, cursor: s.values[fields[focus]!.id].length };
  }
  if (s.busy) return s;
  const { input, key } = a;
  const id = fields[Math.min(s.focus, fields.length - 1)]!.id;
  if (key.return) return { ...s, busy: true, submits: s.submits + 1, errors: { byField: {}, other: [] } };
  const step = (key.tab && key.shift) || key.upArrow ? -1 : key.tab || key.downArrow ? 1 : 0;
  if (step) {
    const focus = (s.focus + step + fields.length) % fields.length;
    return { ...s, focus, cursor: s.values[fields[focus]!.id].length };
  }
  if (id === 'boot') {
    const turn = key.leftArrow ? -1 : key.rightArrow || input === ' ' ? 1 : 0;
    if (!turn) return s;
    const b = BOOT_MODES.indexOf(s.values.boot as BootMode);
    return { ...s, values: { ...s.values, boot: BOOT_MODES[(b + turn + BOOT_MODES.length) % BOOT_MODES.length]! } };
  }
  const next = editLine({ text: s.values[id], cursor: s.cursor }, input, key);
  if (!next) return s;
  return { ...s, values: { ...s.values, [id]: next.text }, cursor: next.cursor };
}
