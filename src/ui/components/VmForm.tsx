import { Box, Text } from 'ink';
import { useEffect, useMemo, useReducer, useRef, type ReactNode } from 'react';
import { BentoError, errorMessage } from '../../vm/errors.js';
import type { Vm } from '../../vm/types.js';
import { CHOICE_FIELDS, bootLabel, libvirtNote, networkNote, onLibvirt, placeErrors, type BootMode, type FieldDef, type FormValues } from '../form-model.js';
import { focusedField, formFields, formReducer, initialForm, type FormDraft, type FormState } from '../form-state.js';
import type { ImagesState } from '../hooks/use-images.js';
import { useKeys } from '../hooks/use-keys.js';
import { useTheme } from '../hooks/use-theme.js';
import { imageChoices, matchChoices } from '../image-choices.js';
import { cleanText, wrapWords } from '../text.js';
import { Dialog } from './Dialog.js';
import { ImagePicker, PICKER_ROWS } from './ImagePicker.js';
import { TextField } from './TextField.js';

/** Props of VmForm. */
export interface VmFormProps {
  /** Create a new VM, or edit this stopped one. */
  vm: Vm | null;
  screen: { cols: number; rows: number };
  isActive: boolean;
  /** Sends the form; rejects with the API's BentoError (its field errors go beside the fields). */
  onSubmit(values: FormValues): Promise<void>;
  onCancel(): void;
  /** The cached images and the catalog, for the image field's picker (create only). */
  images?: ImagesState;
  /** This host's architecture (Node's name for it): the catalog's images for it are offered. */
  arch?: string;
  /** A create that failed after its form had closed, to take up again. */
  draft?: FormDraft | null;
  /** The hosts a new VM can go to (local first): with more than one, the form has a host row. */
  hosts?: readonly string[];
}

const LABEL_W = 13;
const NO_IMAGES: ImagesState = { status: 'loading' };

function footer(form: FormState, vm: Vm | null, picking: boolean): string {
  if (form.busy) return `${vm ? 'saving' : 'creating'}…`;
  if (form.pick >= 0) return 'Enter takes this image · Tab takes it and moves on · ↑↓ pick · Esc back to typing';
  if (picking) return `↓ pick an image (typing filters) · Enter create · Tab move · Esc cancel`;
  return `Enter ${vm ? 'save' : 'create'} · Tab/↑↓ move${vm ? '' : ' · ←/→ change a ‹choice›'} · Esc cancel`;
}

function shownValue(f: FieldDef, values: FormValues): string {
  if (f.id === 'boot') return bootLabel(values.boot as BootMode);
  return values[f.id];
}

/**
 * The new-VM form (`n`) and the edit form (`e`). bentod validates; every field error it reports is
 * shown beside its field, and nothing is created until a request passes. A new VM boots a cloud
 * image by default; the image field offers pulled images and the catalog's in a list under it.
 */
const NO_HOSTS: readonly string[] = [];

function fieldHint(f: FieldDef, values: FormValues): string | undefined {
  if (f.id === 'boot') return undefined;
  if (f.id === 'network') return networkNote(values.network);
  if (f.id === 'host') return onLibvirt(values) ? 'a libvirt host' : 'this machine';
  return f.hint;
}

export function VmForm({ vm, screen, isActive, onSubmit, onCancel, images = NO_IMAGES, arch = process.arch, draft = null, hosts = NO_HOSTS }: VmFormProps): ReactNode {
  const theme = useTheme();
  const [form, dispatch] = useReducer(formReducer, null, () => initialForm(vm, draft, vm ? [] : hosts));
  // Hosts added or removed while the form is open: the host row follows.
  const hostKey = hosts.join('\n');
  useEffect(() => {
    if (!vm && form.hosts.join('\n') !== hostKey) dispatch({ type: 'hosts', hosts });
  }, [hostKey]);
  const fields = formFields(form);
  const submit = useRef(onSubmit);
  submit.current = onSubmit;
  const choices = useMemo(() => (images.status === 'ready' ? imageChoices(images.list, arch) : []), [images, arch]);

  useEffect(() => {
    if (form.submits === 0) return;
    let live = true;
    const sentFields = formFields(form);
    submit.current(form.values).then(
      () => live && dispatch({ type: 'sent' }),
      (err: unknown) => {
        if (!live) return;
        dispatch({ type: 'failed', errors: err instanceof BentoError ? placeErrors(err, sentFields) : { byField: {}, other: [errorMessage(err)] } });
      },
    );
    return () => {
      live = false;
    };
    // Only a new submit sends; the values are the ones Enter was pressed with.
  }, [form.submits]);

  useKeys(
    (input, key) => {
      // Esc first drops a highlighted image, then closes the form.
      if (key.escape && !form.busy && form.pick < 0) {
        onCancel();
        return true;
      }
      dispatch({ type: 'key', input, key, choices });
    },
    { isActive },
  );

  const width = Math.min(screen.cols - 2, 100);
  const inner = width - 4;
  const valueW = Math.min(56, Math.max(inner - LABEL_W - 34, 16));
  const noteW = Math.max(inner - LABEL_W - valueW - 1, 10);
  const imageMode = form.kind === 'create' && form.values.boot === 'image';
  // On a libvirt host the form says where its paths are and what is not offered there.
  const note = form.kind === 'create' && form.hosts.length > 1 && onLibvirt(form.values) ? wrapWords(libvirtNote(form.values.host), inner) : [];
  const picking = imageMode && focusedField(form) === 'image' && isActive;
  const matches = picking ? matchChoices(choices, form.values.image) : [];
  return (
    <Dialog
      title={vm ? `Edit ${vm.name}` : 'New VM'}
      width={width}
      height={fields.length + 8 + (imageMode ? PICKER_ROWS : 0) + (note.length ? note.length + 1 : 0)}
      screen={screen}
      footer={footer(form, vm, picking && matches.length > 0)}
    >
      {fields.map((f, i) => {
        const choice = CHOICE_FIELDS.has(f.id);
        const field = (
          <TextField
            key={f.id}
            label={f.label}
            labelWidth={LABEL_W}
            value={shownValue(f, form.values)}
            cursor={i === form.focus ? form.cursor : 0}
            focused={i === form.focus && isActive}
            width={valueW}
            hint={fieldHint(f, form.values)}
            error={form.errors.byField[f.id]}
            choice={choice}
            noteWidth={noteW}
          />
        );
        if (f.id !== 'image' || !picking) return field;
        return (
          <Box key={f.id} flexDirection="column">
            {field}
            <ImagePicker
              images={images}
              matches={matches}
              pick={Math.min(form.pick, matches.length - 1)}
              typed={form.values.image}
              indent={LABEL_W}
              width={inner - LABEL_W}
              rows={PICKER_ROWS}
            />
          </Box>
        );
      })}
      {note.length ? (
        <Box marginTop={1} flexDirection="column">
          {note.map((l, i) => (
            <Text key={i} color={theme.muted}>
              {l}
            </Text>
          ))}
        </Box>
      ) : null}
      {form.errors.other.length ? (
        <Box marginTop={1} flexDirection="column">
          {form.errors.other.flatMap((m) =>
            wrapWords(`✗ ${cleanText(m)}`, inner).map((l, i) => (
              <Text key={`${m}${i}`} color={theme.error}>
                {l}
              </Text>
            )),
          )}
        </Box>
      ) : null}
    </Dialog>
  );
}
