import { useSyncExternalStore } from 'react';
import type { StoreState, VmStore } from '../vm-store.js';

/** The store's current state; re-renders on every change. */
export function useVmStore(store: VmStore): StoreState {
  return useSyncExternalStore(store.subscribe, store.getState);
}
