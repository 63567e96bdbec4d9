import { Box, Text } from 'ink';
import { useEffect, useReducer, useRef, type ReactNode } from 'react';
import { BentoError, errorMessage } from '../../vm/errors.js';
import type { Vm } from '../../vm/types.js';
import { bootLabel, placeErrors, type BootMode, type FormValues } from '../form-model.js';
import { formFields, formReducer, initialForm } from '../form-state.js';
import { useKeys } from '../hooks/use-keys.js';
import { useTheme } from '../hooks/use-theme.js';
import { cleanText, wrapWords } from '../text.js';
import { Dialog } from './Dialog.js';
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
}

const LABEL_W = 13;

/**
 * The new-VM form (`n`) and the edit form (`e`). bentod validates; every field error it reports is
 * shown beside its field, and nothing is created until a request passes.
 */
export function VmForm({ vm, screen, isActive, onSubmit, onCancel }: VmFormProps): ReactNode {
  const theme = useTheme();
  const [form, dispatch] = useReducer(formReducer, vm, initialForm);
  const fields = formFields(form);
  const submit = useRef(onSubmit);
  submit.current = onSubmit;

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
      if (key.escape && !form.busy) {
        onCancel();
        return true;
      }
      dispatch({ type: 'key', input, key });
    },
    { isActive },
  );

  const width = Math.min(screen.cols - 2, 100);
  const inner = width - 4;
  const valueW = Math.min(56, Math.max(inner - LABEL_W - 31, 16));
  const noteW = Math.max(inner - LABEL_W - valueW - 1, 10);
  const verb = vm ? 'save' : 'create';
  return (
    <Dialog
      title={vm ? `Edit ${vm.name}` : 'New VM'}
      width={width}
      height={fields.length + 8}
      screen={screen}
      footer={form.busy ? `${vm ? 'saving' : 'creating'}…` : `Enter ${verb} · Tab/↑↓ move${vm ? '' : ' · ←/→ boot source'} · Esc cancel`}
    >
      {fields.map((f, i) => (
        <TextField
          key={f.id}
          label={f.label}
          labelWidth={LABEL_W}
          value={f.id === 'boot' ? bootLabel(form.values.boot as BootMode) : form.values[f.id]}
          cursor={i === form.focus ? form.cursor : 0}
          focused={i === form.focus && isActive}
          width={valueW}
          hint={f.id === 'boot' ? undefined : f.hint}
          error={form.errors.byField[f.id]}
          choice={f.id === 'boot'}
          noteWidth={noteW}
        />
      ))}
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
