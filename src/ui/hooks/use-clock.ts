import { useCallback, useSyncExternalStore } from 'react';
import type { Ticker } from '../clock.js';

const noop = (): void => undefined;

/** The tick count of a shared clock; subscribes (and so keeps the clock running) only while active. */
export function useClock(ticker: Ticker, { isActive }: { isActive: boolean }): number {
  const subscribe = useCallback((l: () => void) => (isActive ? ticker.subscribe(l) : noop), [ticker, isActive]);
  return useSyncExternalStore(subscribe, ticker.tick);
}
