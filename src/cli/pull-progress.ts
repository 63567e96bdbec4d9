// The progress of `bento image pull` on stderr: on a terminal one line redrawn in place (bar,
// percent, bytes, rate, ETA); otherwise plain lines every few seconds or 10%, for logs and CI.
import type { PullProgress, PullResult } from '../vm/images/types.js';
import { formatBytes, shortSha } from './image-format.js';

/** Where progress goes: stderr, or a fake in tests. */
export interface ProgressOutput {
  write(text: string): void;
  isTTY: boolean;
  columns?: number;
}

/** Plain (non-terminal) output prints at least this often while downloading… */
const PLAIN_EVERY_MS = 5_000;
/** …and at every such step of the percentage. */
const PLAIN_STEP_PERCENT = 10;

/** Seconds for people: 4s, 1m05s, 1h02m. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The line of a finished pull: `pulled debian-12 (sha256-abcd…, 412 MiB) in 12.3 s`. */
export function pulledLine(label: string, r: PullResult, seconds: number): string {
  if (r.alreadyCached) return `${label} is already pulled (${shortSha(r.sha256)}, ${formatBytes(r.size)}); --force pulls it again`;
  return `pulled ${label} (${shortSha(r.sha256)}, ${formatBytes(r.size)}) in ${seconds.toFixed(1)} s`;
}

/** Draws the progress events of one pull. */
export class PullRenderer {
  private drawn = false;
  private lastPlainAt = 0;
  private lastPlainStep = -1;
  private saidPhase = new Set<string>();

  constructor(
    private readonly out: ProgressOutput,
    private readonly label: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The one-line view of a progress event, at most `width` characters. */
  line(p: PullProgress, width: number): string {
    if (p.phase === 'checksum') return `${this.label}  fetching the checksum file…`;
    if (p.phase === 'verify') return `${this.label}  verifying…`;
    const rate = p.bytesPerSec > 0 ? `  ${formatBytes(p.bytesPerSec)}/s` : '';
    const eta = p.etaSeconds !== null && p.bytesPerSec > 0 ? `  ETA ${formatEta(p.etaSeconds)}` : '';
    if (!p.total) return `${this.label}  ${formatBytes(p.received)}${rate}`.slice(0, width);
    const frac = Math.min(1, p.received / p.total);
    const tail = `  ${String(Math.floor(frac * 100)).padStart(3)}%  ${formatBytes(p.received)} / ${formatBytes(p.total)}${rate}${eta}`;
    // Sized for the longest tail (`100%  999.9 MiB / 999.9 MiB  999.9 MiB/s  ETA 59m59s`), so the bar keeps its width.
    const barWidth = Math.max(10, Math.min(30, width - this.label.length - 58));
    const full = Math.floor(frac * barWidth);
    const bar = '='.repeat(full) + (full < barWidth ? '>' : '') + ' '.repeat(Math.max(0, barWidth - full - 1));
    return `${this.label}  [${bar}]${tail}`.slice(0, width);
  }

  /** Shows one event (events of other pulls must be filtered out by the caller). */
  update(p: PullProgress): void {
    if (p.phase === 'done' || p.phase === 'error') return this.clear();
    if (this.out.isTTY) {
      // One character short of the width: a line that fills it would wrap and break the redraw.
      this.out.write(`\r${this.line(p, Math.max(20, (this.out.columns || 80) - 1))}\x1b[K`);
      this.drawn = true;
      return;
    }
    this.plain(p);
  }

  private once(key: string, text: string): void {
    if (this.saidPhase.has(key)) return;
    this.saidPhase.add(key);
    this.out.write(`${text}\n`);
  }

  private plain(p: PullProgress): void {
    if (p.phase === 'checksum') return this.once('checksum', `${this.label}: fetching the checksum file`);
    if (p.phase === 'verify') return this.once('verify', `${this.label}: verifying`);
    if (p.resumedFrom > 0) this.once('resume', `${this.label}: resuming at ${formatBytes(p.resumedFrom)}`);
    const t = this.now();
    const percent = p.total ? Math.floor((p.received / p.total) * 100) : null;
    const step = percent === null ? -1 : Math.floor(percent / PLAIN_STEP_PERCENT);
    if (t - this.lastPlainAt < PLAIN_EVERY_MS && step <= this.lastPlainStep) return;
    this.lastPlainAt = t;
    this.lastPlainStep = Math.max(this.lastPlainStep, step);
    const rate = p.bytesPerSec > 0 ? `, ${formatBytes(p.bytesPerSec)}/s` : '';
    const eta = p.etaSeconds !== null && p.bytesPerSec > 0 ? `, ETA ${formatEta(p.etaSeconds)}` : '';
    const amount = p.total ? `${percent}% (${formatBytes(p.received)} of ${formatBytes(p.total)}${rate}${eta})` : `${formatBytes(p.received)}${rate}`;
    this.out.write(`${this.label}: ${amount}\n`);
  }

  /** Erases the in-place line (before the final line or an error). */
  clear(): void {
    if (!this.drawn) return;
    this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
