import { useContext, useEffect, useState } from 'react';
import type { KeyHandler, RawHandler } from '../key-router.js';
import { KeyRouterContext } from '../key-router-context.js';

export type { KeyHandler } from '../key-router.js';

/** Options of useKeys. */
export interface KeysOptions {
  isActive: boolean;
  /** One call per character (command keys) instead of one per printable run (text fields). */
  perChar?: boolean;
}

function useSlot(claim: { handler?: KeyHandler; raw?: RawHandler; perChar?: boolean; active: boolean }): void {
  const router = useContext(KeyRouterContext);
  if (!router) throw new Error('useKeys needs the KeyRouterContext of the App');
  const [slot] = useState(() => router.open());
  // Claimed during render, so the router knows who has the keys as soon as React has rendered,
  // without waiting for effects.
  router.update(slot, claim);
  useEffect(() => {
    router.update(slot, claim);
    return () => router.close(slot);
    // Only mount and unmount: every render updates the claim above.
  }, [router, slot]);
}

/**
 * The keys of one pane, while it has the focus. Keys read together arrive one at a time; a handler
 * that moves the focus returns true, and the keys after it go to the pane that has the focus next.
 */
export function useKeys(handler: KeyHandler, { isActive, perChar = false }: KeysOptions): void {
  useSlot({ handler, perChar, active: isActive });
}

/** Raw input for a pane that is a terminal: bytes as read; the handler returns what it did not take. */
export function useRawKeys(handler: RawHandler, { isActive }: { isActive: boolean }): void {
  useSlot({ raw: handler, active: isActive });
}
