/** The create/edit form's state and keys as a reducer, so keys that arrive together apply in order. */
import { CHOICE_FIELDS, createFields, createValues, editFields, editValues, switchHost, turnChoice, type BootMode, type FieldDef, type FieldId, type FormValues } from './form-model.js';
import { matchChoices, type ImageChoice } from './image-choices.js';
import { editLine, type EditKey } from './line-edit.js';
import { LOCAL_HOST } from '../vm/host-name.js';
import type { Vm } from '../vm/types.js';

/** Field errors placed on the form. */
export interface FormErrors {
  byField: Partial<Record<FieldId, string>>;
  other: string[];
}

/** What a create that failed after the form closed (its image was still being pulled) leaves to reopen. */
export interface FormDraft {
  values: FormValues;
  errors: FormErrors;
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
  /** The image highlighted in the picker under the image field, -1 when none (the typed text stands). */
  pick: number;
  /** The hosts a new VM can go to (local first); with more than one the form has a host row. */
  hosts: readonly string[];
}

/** What changes the form. */
export type FormAction =
  | {
      type: 'key';
      input: string;
      key: EditKey & { shift?: boolean };
      /** The image picker's choices (all of them: the reducer filters by what is typed). */
      choices?: readonly ImageChoice[];
    }
  | { type: 'sent' }
  | { type: 'failed'; errors: FormErrors }
  /** The hosts changed while the form was open (one added, one removed). */
  | { type: 'hosts'; hosts: readonly string[] };

/** The rows the form shows now. */
export function formFields(s: Pick<FormState, 'kind' | 'values'> & { hosts?: readonly string[] }): FieldDef[] {
  if (s.kind === 'edit') return editFields();
  return createFields(s.values.boot as BootMode, (s.hosts?.length ?? 0) > 1 ? s.values.host : null);
}

/** The field that has the cursor. */
export function focusedField(s: Pick<FormState, 'kind' | 'values' | 'focus'> & { hosts?: readonly string[] }): FieldId {
  const fields = formFields(s);
  return fields[Math.min(s.focus, fields.length - 1)]!.id;
}

function withErrors(s: FormState, errors: FormErrors): FormState {
  // The cursor goes to the first field with a problem.
  const fields = formFields(s);
  const first = fields.findIndex((f) => errors.byField[f.id]);
  const focus = first >= 0 ? first : s.focus;
  return { ...s, busy: false, errors, focus, cursor: s.values[fields[focus]!.id].length, pick: -1 };
}

/** A fresh form: create (vm null) or edit; a draft brings back a create that failed, with its errors. */
export function initialForm(vm: Vm | null, draft?: FormDraft | null, hosts: readonly string[] = []): FormState {
  const values = vm ? editValues(vm) : draft ? draft.values : createValues();
  const kind = vm ? 'edit' : 'create';
  const first = formFields({ kind, values, hosts })[0]!;
  const s: FormState = { kind, values, focus: 0, cursor: values[first.id].length, errors: { byField: {}, other: [] }, busy: false, submits: 0, pick: -1, hosts };
  return draft && !vm ? withErrors(s, draft.errors) : s;
}

// The picker's keys on the image field: ↑/↓ move the highlight, Enter takes it, Tab takes it and
// moves on, Esc drops it. Returns null for keys it leaves to the rest of the form.
function pickerKey(s: FormState, a: Extract<FormAction, { type: 'key' }>): FormState | null {
  const { key } = a;
  const matches = a.choices ? matchChoices(a.choices, s.values.image) : [];
  const pick = Math.min(s.pick, matches.length - 1);
  if (key.downArrow && matches.length) return { ...s, pick: Math.min(pick + 1, matches.length - 1) };
  if (key.upArrow && pick >= 0) return { ...s, pick: pick - 1 };
  if (key.escape && pick >= 0) return { ...s, pick: -1 };
  if ((key.return || (key.tab && !key.shift)) && pick >= 0) {
    const value = matches[pick]!.value;
    const taken = { ...s, values: { ...s.values, image: value }, cursor: value.length, pick: -1 };
    return key.return ? taken : move(taken, 1);
  }
  return null;
}

function move(s: FormState, step: number): FormState {
  const fields = formFields(s);
  const focus = (s.focus + step + fields.length) % fields.length;
  return { ...s, focus, cursor: s.values[fields[focus]!.id].length, pick: -1 };
}

/** The form after an action. */
export function formReducer(s: FormState, a: FormAction): FormState {
  if (a.type === 'sent') return { ...s, busy: false };
  if (a.type === 'failed') return withErrors(s, a.errors);
  if (a.type === 'hosts') {
    // A chosen host that went away gives way to local; the cursor stays on its row (rows may come or go).
    const values = a.hosts.includes(s.values.host) ? s.values : switchHost(s.values, a.hosts[0] ?? LOCAL_HOST);
    const next = { ...s, hosts: a.hosts, values };
    const focus = Math.min(s.focus, formFields(next).length - 1);
    return { ...next, focus, cursor: values[formFields(next)[focus]!.id].length, pick: -1 };
  }
  if (s.busy) return s;
  const { input, key } = a;
  const id = focusedField(s);
  if (id === 'image' && s.kind === 'create') {
    const picked = pickerKey(s, a);
    if (picked) return picked;
  }
  if (key.return) return { ...s, busy: true, submits: s.submits + 1, errors: { byField: {}, other: [] }, pick: -1 };
  const step = (key.tab && key.shift) || key.upArrow ? -1 : key.tab || key.downArrow ? 1 : 0;
  if (step) return move(s, step);
  if (CHOICE_FIELDS.has(id)) {
    const turn = key.leftArrow ? -1 : key.rightArrow || input === ' ' ? 1 : 0;
    return turn ? { ...s, values: turnChoice(s.values, id, turn, s.hosts) } : s;
  }
  const next = editLine({ text: s.values[id], cursor: s.cursor }, input, key);
  if (!next) return s;
  return { ...s, values: { ...s.values, [id]: next.text }, cursor: next.cursor, pick: -1 };
}
