import { useCallback, useRef, type Dispatch } from 'react';
import { errorMessage } from '../../vm/errors.js';
import type { Vm } from '../../vm/types.js';
import type { UiClient } from '../ui-client.js';
import type { ViewAction } from '../view-state.js';
import type { VmStore } from '../vm-store.js';
import { snapshotKind } from '../snapshot-view.js';

/** The snapshot keys' requests to bentod, with the outcome on the status line. */
export interface SnapshotActions {
  /** `v`: a snapshot now, with the default tag. */
  take(vm: Vm): void;
  /** After the confirmation: back to a snapshot. */
  restore(name: string, tag: string): void;
  /** After the confirmation: remove a snapshot. */
  remove(name: string, tag: string): void;
}

/** Snapshot requests against a client; one at a time per VM, as bentod runs them under the VM's lock anyway. */
export function useSnapshotActions(client: UiClient, store: VmStore, dispatch: Dispatch<ViewAction>): SnapshotActions {
  const pending = useRef(new Set<string>());
  const say = useCallback((text: string, kind: 'info' | 'error' = 'info') => dispatch({ type: 'status', text, kind }), [dispatch]);
  const once = useCallback(
    (name: string, begun: string, call: () => Promise<string>) => {
      if (pending.current.has(name)) return say(`${name}: a snapshot operation is already under way`);
      pending.current.add(name);
      say(begun);
      call().then(
        (done) => {
          pending.current.delete(name);
          say(done);
        },
        (err: unknown) => {
          pending.current.delete(name);
          say(`${name}: ${errorMessage(err)}`, 'error');
        },
      );
    },
    [say],
  );
  const take = useCallback(
    (vm: Vm) =>
      once(vm.name, `taking a snapshot of ${vm.name}…`, async () => {
        const started = Date.now();
        const s = await client.snapshot(vm.name);
        return `${vm.name}: snapshot ${s.tag} taken (${snapshotKind(s)}) in ${((Date.now() - started) / 1000).toFixed(1)} s`;
      }),
    [client, once],
  );
  const restore = useCallback(
    (name: string, tag: string) =>
      once(name, `restoring ${name} to ${tag}…`, async () => {
        const vm = await client.restoreSnapshot(name, tag);
        store.upsert(vm);
        return `${name}: restored ${tag}; ${name} is ${vm.state}`;
      }),
    [client, once, store],
  );
  const remove = useCallback(
    (name: string, tag: string) =>
      once(name, `removing snapshot ${tag} of ${name}…`, async () => {
        await client.removeSnapshot(name, tag);
        return `${name}: removed snapshot ${tag}`;
      }),
    [client, once],
  );
  return { take, restore, remove };
}
