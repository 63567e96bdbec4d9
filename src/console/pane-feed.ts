/**
 * Feeds pty output into an @xterm/headless terminal with bounded memory and a responsive event loop.
 *
 * Two limits, for two reasons:
 * - Backpressure: past HIGH_WATER bytes waiting, the pty is paused (the kernel's pty buffer then
 *   blocks the program) and resumed below LOW_WATER, so a flood never grows our memory.
 * - Slices: xterm parses whatever is queued in 12 ms bursts. Handing it one write of at most SLICE
 *   bytes per event-loop turn keeps each burst short, so pty reads (and keystrokes, and Ink) are served
 *   between bursts. This matters at exit: node-pty destroys the pty socket 200 ms after the child
 *   is reaped, and output still in the kernel buffer is lost unless it is read by then.
 */
import type { Terminal as HeadlessTerminal } from '@xterm/headless';

const HIGH_WATER = 512 * 1024;
const LOW_WATER = 64 * 1024;
const SLICE = 32 * 1024;

/** Something that can stop and restart delivering data (the pty). */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/** Counters kept by the feed. */
export interface FeedStats {
  bytesIn: number;
  bytesParsed: number;
  maxQueued: number;
  /** pty reads, and the (coalesced) writes into the terminal. */
  chunks: number;
  writes: number;
  pauses: number;
}

/** A feed from the pty into the terminal. */
export interface Feed {
  push(chunk: Uint8Array): void;
  /** Calls back once everything pushed so far has been parsed. */
  whenDrained(callback: () => void): void;
  /** Stops feeding; resumes the source so it can reach EOF and close. */
  dispose(): void;
}

/** Creates a feed writing into `term`, pausing `source` when the terminal falls behind. */
export function createFeed(term: HeadlessTerminal, source: Pausable, stats: FeedStats): Feed {
  const waiting: Uint8Array[] = [];
  let queued = 0; // bytes received and not yet parsed, in `waiting` or inside xterm
  let inFlight = 0; // bytes handed to xterm and not yet parsed
  let paused = false;
  let pumpScheduled = false;
  let disposed = false;
  let drained: (() => void)[] = [];

  function parsed(size: number): void {
    if (disposed) return;
    inFlight -= size;
    queued -= size;
    stats.bytesParsed += size;
    if (paused && queued <= LOW_WATER) {
      paused = false;
      source.resume();
    }
    if (queued === 0 && drained.length > 0) {
      const calls = drained;
      drained = [];
      for (const c of calls) c();
    }
    // On the next turn, after the poll phase has had a chance to read the pty.
    if (waiting.length > 0) schedulePump();
  }

  function schedulePump(): void {
    if (pumpScheduled) return;
    pumpScheduled = true;
    setImmediate(pump);
  }

  // Everything read in this turn goes to xterm as one write: each write costs a timer hop and a
  // callback, so coalescing keeps the cost per turn, not per pty read.
  function pump(): void {
    pumpScheduled = false;
    // One write in flight at a time: whatever arrives meanwhile joins the next batch.
    if (disposed || inFlight > 0 || waiting.length === 0) return;
    let take = 0;
    let size = 0;
    while (take < waiting.length && (take === 0 || size + waiting[take]!.length <= SLICE)) size += waiting[take++]!.length;
    const batch = take === 1 ? waiting[0]! : Buffer.concat(waiting.slice(0, take), size);
    waiting.splice(0, take);
    inFlight += size;
    stats.writes++;
    term.write(batch, () => parsed(size));
  }

  return {
    push(chunk) {
      if (disposed) return;
      const size = chunk.length;
      stats.bytesIn += size;
      stats.chunks++;
      queued += size;
      if (queued > stats.maxQueued) stats.maxQueued = queued;
      waiting.push(chunk);
      schedulePump();
      if (!paused && queued >= HIGH_WATER) {
        paused = true;
        stats.pauses++;
        source.pause();
      }
    },
    whenDrained(callback) {
      if (queued === 0) callback();
      else drained.push(callback);
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      waiting.length = 0;
      drained = [];
      if (paused) source.resume();
    },
  };
}
