import type { Disposer } from './types.js';

/** Subscribers to one kind of event: `add` returns the function that unsubscribes, `emit` calls each in order. */
export class Listeners<T> {
  private readonly set = new Set<(ev: T) => void>();

  add(listener: (ev: T) => void): Disposer {
    this.set.add(listener);
    return () => void this.set.delete(listener);
  }

  emit(ev: T): void {
    for (const l of this.set) l(ev);
  }
}
