import { useEffect, useState } from 'react';
import { errorMessage } from '../../vm/errors.js';
import type { Snapshot, Vm } from '../../vm/types.js';
import type { UiClient } from '../ui-client.js';

/** A VM's snapshots as last fetched: null while the first fetch runs; error when bentod refused. */
export interface SnapshotsState {
  name: string | null;
  list: Snapshot[] | null;
  error: string | null;
}

/** Quiet time before a fetch: scrolling through VMs or a burst of progress events costs one fetch. */
const SETTLE_MS = 250;

/**
 * The snapshots of `vm`, fetched through the client when the VM changes: another selection, or
 * any event about it (bentod pushes `changed` after each snapshot taken, restored or removed).
 */
export function useSnapshots(client: UiClient, vm: Vm | null, { isActive }: { isActive: boolean }): SnapshotsState {
  const [state, setState] = useState<SnapshotsState>({ name: null, list: null, error: null });
  const name = vm?.name ?? null;
  // Snapshots are a local feature: a VM of a libvirt host has none to fetch (its keys say why).
  const local = !vm?.libvirt;
  useEffect(() => {
    if (!isActive || !name || !local) return;
    let closed = false;
    const t = setTimeout(() => {
      client.snapshots(name).then(
        (list) => !closed && setState({ name, list, error: null }),
        (err: unknown) => !closed && setState({ name, list: null, error: errorMessage(err) }),
      );
    }, SETTLE_MS);
    return () => {
      closed = true;
      clearTimeout(t);
    };
  }, [client, name, vm, isActive, local]);
  // What was fetched for another VM is not shown for this one.
  return state.name === name ? state : { name, list: null, error: null };
}
