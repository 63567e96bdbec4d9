/**
 * Lines of a serial log for the screen: bytes in, cleaned lines out, at most `max` kept. A carriage
 * return without a newline starts the line over (progress bars), as a terminal would show it.
 */
import { StringDecoder } from 'node:string_decoder';
import { cleanText } from './text.js';

/** A growing, bounded list of cleaned log lines. */
export interface LogBuffer {
  push(chunk: Buffer | string): void;
  /** Complete lines, then the partial last one if any. */
  lines(): readonly string[];
  /** Lines ever dropped from the top (so a scrolled view can stay put). */
  dropped(): number;
  /** Grows with every change. */
  version(): number;
}

/** Creates a buffer keeping the last `max` lines. */
export function createLogBuffer(max: number): LogBuffer {
  const decoder = new StringDecoder('utf8');
  let done: string[] = [];
  let partial = '';
  let dropped = 0;
  let version = 0;
  let cache: string[] | null = null;

  const finish = (raw: string): string => {
    const cr = raw.lastIndexOf('\r', raw.length - 2);
    return cleanText(cr >= 0 ? raw.slice(cr + 1) : raw);
  };

  return {
    push(chunk) {
      const text = partial + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) done.push(finish(p.endsWith('\r') ? p.slice(0, -1) : p));
      // Trim in batches so a fast stream does not shift the array on every line.
      if (done.length > max + 256) {
        const cut = done.length - max;
        done = done.slice(cut);
        dropped += cut;
      }
      version++;
      cache = null;
    },
    lines() {
      if (cache) return cache;
      const all = partial ? [...done, finish(partial)] : done.slice();
      cache = all.length > max ? all.slice(all.length - max) : all;
      return cache;
    },
    dropped: () => dropped + Math.max(0, done.length + (partial ? 1 : 0) - max),
    version: () => version,
  };
}
