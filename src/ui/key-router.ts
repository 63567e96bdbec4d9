/**
 * One owner for the keyboard. Ink hands every input to every active useInput hook, and a hook only
 * starts or stops listening when React runs its effects, some time after the render that moved the
 * focus; a key read in between goes to the pane that just lost the focus. The router instead
 * decides per key, from the latest render, which pane has the keys, and hands keys read together
 * over one at a time, letting React render between a key that moves the focus and the next one.
 */
import type { Key } from 'ink';
import { PLAIN, splitKeys, type SplitKey } from './split-keys.js';

/** A key handler; returning true means the focus may have moved, so the next key waits for React. */
export type KeyHandler = (input: string, key: Key) => boolean | void;

/** A raw handler (the console pane): gets the bytes as read; returns what it did not take. */
export type RawHandler = (data: string) => string | void;

/** One pane's claim on the keyboard. */
export interface KeySlot {
  handler: KeyHandler | null;
  raw: RawHandler | null;
  perChar: boolean;
  active: boolean;
  /** When it last became active; the most recent active claim has the keys. */
  since: number;
}

const FINAL: Record<string, Partial<Key>> = {
  A: { upArrow: true },
  B: { downArrow: true },
  C: { rightArrow: true },
  D: { leftArrow: true },
  H: { home: true },
  F: { end: true },
  Z: { tab: true, shift: true },
};
const TILDE: Record<string, Partial<Key>> = {
  '1': { home: true },
  '7': { home: true },
  '4': { end: true },
  '8': { end: true },
  '3': { delete: true },
  '5': { pageUp: true },
  '6': { pageDown: true },
};

/** An escape sequence (Ink delivers each as one input) as a key. */
export function escapeKey(seq: string): Key {
  if (seq === '\x1b' || seq === '\x1b\x1b') return { ...PLAIN, escape: true, meta: true };
  // eslint-disable-next-line no-control-regex -- an escape sequence starts with ESC
  const m = /^\x1b(?:\[|O)([\d;]*)([A-Za-z~])$/.exec(seq);
  if (!m) return { ...PLAIN, meta: true };
  const [first = '', mod = '1'] = m[1]!.split(';');
  const bits = Math.max(Number(mod) - 1, 0);
  const base = m[2] === '~' ? TILDE[first] : FINAL[m[2]!];
  return { ...PLAIN, ...base, shift: !!(bits & 1) || !!base?.shift, meta: !!(bits & 2), ctrl: !!(bits & 4) };
}

/** The first key in `data`, as a handler that wants keys per character (or per text run) sees it. */
export function firstKey(data: string, perChar: boolean): SplitKey {
  if (data.startsWith('\x1b')) {
    // Ink's reader splits escape sequences out; Alt+letter arrives as ESC + the letter.
    if (data.length === 2 && data[1] !== '[' && data[1] !== 'O') return { input: data[1]!, key: { ...PLAIN, meta: true }, raw: data };
    return { input: '', key: escapeKey(data), raw: data };
  }
  const esc = data.indexOf('\x1b');
  return splitKeys(esc > 0 ? data.slice(0, esc) : data, perChar)[0]!;
}

/** The router. */
export class KeyRouter {
  private readonly slots = new Set<KeySlot>();
  private seq = 0;
  private readonly queue: string[] = [];
  private draining = false;
  private waiters: (() => void)[] = [];
  private updates = 0;

  /** @param maxWaitMs how long a key that may have moved the focus waits for React to render. */
  constructor(private readonly maxWaitMs = 50) {}

  /** Resolves once React has rendered (a claim was updated), or after maxWaitMs if nothing changed. */
  private nextRender(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.maxWaitMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  /** A new slot for a pane. */
  open(): KeySlot {
    const slot: KeySlot = { handler: null, raw: null, perChar: false, active: false, since: 0 };
    this.slots.add(slot);
    return slot;
  }

  /** Called during render with the pane's current handler and focus. */
  update(slot: KeySlot, claim: { handler?: KeyHandler; raw?: RawHandler; perChar?: boolean; active: boolean }): void {
    if (!this.slots.has(slot)) this.slots.add(slot);
    this.updates++;
    if (this.waiters.length) {
      // Claims are updated during a render; the rest of that render (other panes' claims) runs
      // before this microtask.
      const waiters = this.waiters;
      this.waiters = [];
      queueMicrotask(() => {
        for (const w of waiters) w();
      });
    }
    if (claim.active && !slot.active) slot.since = ++this.seq;
    slot.active = claim.active;
    slot.handler = claim.handler ?? null;
    slot.raw = claim.raw ?? null;
    slot.perChar = claim.perChar ?? false;
  }

  /** The pane unmounted. */
  close(slot: KeySlot): void {
    this.slots.delete(slot);
  }

  /** The pane that has the keys now. */
  current(): KeySlot | null {
    let best: KeySlot | null = null;
    for (const s of this.slots) if (s.active && (!best || s.since > best.since)) best = s;
    return best;
  }

  /** Input as Ink read it (one escape sequence, or a run of text). */
  push(data: string): void {
    this.queue.push(data);
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length) {
        let rest = this.queue.shift()!;
        while (rest) {
          const slot = this.current();
          if (!slot) break;
          const before = this.updates;
          let moved: boolean;
          if (slot.raw) {
            const left = slot.raw(rest) ?? '';
            moved = left.length > 0;
            rest = left;
          } else if (slot.handler) {
            const k = firstKey(rest, slot.perChar);
            rest = rest.slice(k.raw.length);
            moved = slot.handler(k.input, k.key) === true;
          } else break;
          // A render that already happened inside the handler has moved the focus already.
          if (moved && rest && this.updates === before) await this.nextRender();
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
