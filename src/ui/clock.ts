/**
 * Shared clocks. Every animated cell reads one of these, so the screen changes on one beat instead of
 * one timer per row; a clock only runs while something subscribes, so an idle screen has no timers.
 */
import type { Disposer } from '../vm/types.js';

/** A clock that ticks every `ms` while it has subscribers. */
export interface Ticker {
  readonly ms: number;
  /** Ticks so far (changes on every beat). */
  tick(): number;
  subscribe(listener: () => void): Disposer;
}

/** Creates a ticker. */
export function createTicker(ms: number): Ticker {
  const listeners = new Set<() => void>();
  let timer: NodeJS.Timeout | null = null;
  let count = 0;
  return {
    ms,
    tick: () => count,
    subscribe(listener) {
      listeners.add(listener);
      if (!timer) {
        timer = setInterval(() => {
          count++;
          for (const l of [...listeners]) l();
        }, ms);
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && timer) {
          clearInterval(timer);
          timer = null;
        }
      };
    },
  };
}

/** The beat of spinners on transitional states (8 frames a second). */
export const spinnerClock = createTicker(125);
/** The beat of uptimes and stop countdowns. */
export const secondClock = createTicker(1000);
