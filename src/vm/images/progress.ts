import type { PullPhase, PullProgress } from './types.js';

/** How far back the rate looks: long enough to smooth bursts, short enough to follow a change. */
const RATE_WINDOW_MS = 3_000;

/** The counters of one transfer, and the rate and ETA derived from recent samples. */
export class ProgressTracker {
  phase: PullPhase = 'checksum';
  received = 0;
  total: number | null = null;
  resumedFrom = 0;
  private samples: { t: number; bytes: number }[] = [];

  /** The numbers of a progress event at time `now` (ms); records a rate sample. */
  sample(now = Date.now()): Pick<PullProgress, 'phase' | 'received' | 'total' | 'bytesPerSec' | 'etaSeconds' | 'resumedFrom'> {
    if (this.phase === 'download') {
      this.samples.push({ t: now, bytes: this.received });
      while (this.samples.length > 2 && now - this.samples[1]!.t >= RATE_WINDOW_MS) this.samples.shift();
    }
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = first && last ? (last.t - first.t) / 1000 : 0;
    const bytesPerSec = dt > 0 ? Math.max(0, Math.round((last!.bytes - first!.bytes) / dt)) : 0;
    const etaSeconds = this.total !== null && bytesPerSec > 0 ? Math.max(0, Math.round(((this.total - this.received) / bytesPerSec) * 10) / 10) : null;
    return { phase: this.phase, received: this.received, total: this.total, bytesPerSec, etaSeconds, resumedFrom: this.resumedFrom };
  }

  /** Starts the rate from the current count (a download's first byte, after any resume re-hash). */
  startRate(now = Date.now()): void {
    this.samples = [{ t: now, bytes: this.received }];
  }
}
