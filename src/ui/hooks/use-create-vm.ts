import { useCallback, useRef, type Dispatch } from 'react';
import { BentoError, errorMessage } from '../../vm/errors.js';
import { createFields, createRequest, placeErrors, type BootMode, type FormValues } from '../form-model.js';
import type { FormDraft } from '../form-state.js';
import { needsPull } from '../image-choices.js';
import type { UiClient } from '../ui-client.js';
import type { ViewAction } from '../view-state.js';
import type { VmStore } from '../vm-store.js';
import type { ImagesState } from './use-images.js';

/**
 * How long the form waits on a pull before it closes and leaves the pull to the VM's row: a pull
 * that fails at once (an unknown image, a bad URL) fails in the form, beside the image field.
 */
export const QUICK_PULL_MS = 400;

/** What the new-VM form sends through. */
export interface CreateVm {
  /** Creates the VM, pulling its image first when it is not cached; rejects for the form to show. */
  create(values: FormValues): Promise<void>;
  /** The draft of a create that failed after its form had closed, once: the next form opens with it. */
  takeDraft(): FormDraft | null;
}

type Early<T> = { settled: true; ok: true; value: T } | { settled: true; ok: false; error: unknown } | { settled: false };

function within<T>(p: Promise<T>, ms: number): Promise<Early<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ settled: false }), ms);
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve({ settled: true, ok: true, value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ settled: true, ok: false, error });
      },
    );
  });
}

// A failed pull is a problem with the image the form names.
function imageError(err: unknown): BentoError {
  const message = errorMessage(err);
  return new BentoError(err instanceof BentoError ? err.code : 'internal', message, { fields: [{ field: 'image', message }] });
}

function headline(err: unknown): string {
  if (err instanceof BentoError && err.fields?.length) {
    const [f] = err.fields;
    return `${f!.field} ${f!.message}${err.fields.length > 1 ? ` (and ${err.fields.length - 1} more)` : ''}`;
  }
  return errorMessage(err);
}

/**
 * The new-VM form's submit. An image that is not cached is pulled first (`pullImage(ref, {vm})`),
 * then the VM is created. A pull still running after QUICK_PULL_MS continues with the form closed:
 * the table shows the VM's provisional row with the progress, and the status line says how it ends.
 */
export function useCreateVm(opts: { client: UiClient; store: VmStore; dispatch: Dispatch<ViewAction>; images: ImagesState; arch: string; selIndex: number }): CreateVm {
  const { client, store, dispatch } = opts;
  const latest = useRef(opts);
  latest.current = opts;
  const draft = useRef<FormDraft | null>(null);

  const create = useCallback(
    async (values: FormValues): Promise<void> => {
      const say = (text: string, kind: 'info' | 'error' = 'info'): void => dispatch({ type: 'status', text, kind });
      const req = createRequest(values);
      const { name } = req;
      const ref = req.image;
      const { images, arch } = latest.current;
      const list = images.status === 'ready' ? images.list : null;
      // A name that is taken fails at once; no image is pulled for it.
      if (ref && !store.getState().vms.has(name) && needsPull(ref, list, arch)) {
        store.trackPull(name, ref);
        const pull = client.pullImage(ref, { vm: name });
        const early = await within(pull, QUICK_PULL_MS);
        if (early.settled && !early.ok) {
          store.endPull(name);
          throw imageError(early.error);
        }
        if (!early.settled) {
          dispatch({ type: 'dialog', dialog: null });
          say(`pulling ${ref} for ${name}: its row shows how far it is`);
          pull
            .then(() => client.create(req))
            .then(
              (vm) => {
                store.upsert(vm);
                store.endPull(name);
                say(`created ${vm.name} from ${ref}: s starts it`);
              },
              (err: unknown) => {
                store.endPull(name);
                const errors = err instanceof BentoError ? placeErrors(err, createFields(values.boot as BootMode, values.host)) : { byField: {}, other: [errorMessage(err)] };
                draft.current = { values, errors };
                say(`${name} was not created (n reopens the form): ${headline(err)}`, 'error');
              },
            );
          return;
        }
      }
      try {
        const vm = await client.create(req);
        store.upsert(vm);
        dispatch({ type: 'dialog', dialog: null });
        dispatch({ type: 'select', name: vm.name, index: latest.current.selIndex });
        say(`created ${vm.name}: s starts it`);
      } finally {
        if (ref) store.endPull(name);
      }
    },
    [client, store, dispatch],
  );

  const takeDraft = useCallback((): FormDraft | null => {
    const d = draft.current;
    draft.current = null;
    return d;
  }, []);

  return { create, takeDraft };
}
