import type { VmSample } from '../vm/types.js';

/** The eight block heights a sparkline is drawn with, lowest first. */
export const SPARK_CHARS = '▁▂▃▄▅▆▇█';

/**
 * ASCII stand-ins for SPARK_CHARS, one each, in the same order. Letters a-h occur in no figure
 * (digits, `%`, `.`, `-`, spaces) and in no SGR escape (`ESC [`, digits, `;`, `m`), so the swap back
 * touches the glyphs only.
 */
const SPARK_ASCII = 'abcdefgh';
const TO_ASCII = new Map([...SPARK_CHARS].map((c, i) => [c, SPARK_ASCII[i]!]));
const TO_SPARK = new Map([...SPARK_ASCII].map((c, i) => [c, SPARK_CHARS[i]!]));

/**
 * A sparkline cell spelt in ASCII (see sparkFromAscii). Ink measures every text node's width on every
 * frame, uncached: ASCII takes string-width's fast path, the block glyphs its grapheme segmenter,
 * about 20 µs a cell, which a table of sparklines paid on each keypress.
 */
export function sparkToAscii(text: string): string {
  return text.replace(/[▁▂▃▄▅▆▇█]/g, (c) => TO_ASCII.get(c)!);
}

/** Undoes sparkToAscii (an Ink <Transform>, applied to the laid-out line): the same width, one cell a glyph. */
export function sparkFromAscii(text: string): string {
  return text.replace(/[a-h]/g, (c) => TO_SPARK.get(c)!);
}

/**
 * A sparkline of the last `width` values (newest on the right), scaled to `max` (or to the largest
 * value when max is null). Missing values (null) are blank; with fewer values than cells it is
 * left-padded with blanks, so it always takes exactly `width` cells.
 */
export function sparkline(values: Array<number | null>, width: number, max: number | null = null): string {
  if (width <= 0) return '';
  const tail = values.slice(-width);
  const top = max ?? Math.max(0, ...tail.map((v) => v ?? 0));
  const cells = tail.map((v) => {
    if (v === null || !Number.isFinite(v)) return ' ';
    if (top <= 0) return SPARK_CHARS[0]!;
    const i = Math.round((Math.min(v, top) / top) * (SPARK_CHARS.length - 1));
    return SPARK_CHARS[Math.max(0, i)]!;
  });
  return ' '.repeat(width - cells.length) + cells.join('');
}

/** Scales a CPU sparkline: one core is full height, more cores raise the top to the peak seen. */
export function cpuSparkline(history: VmSample[], width: number): string {
  const values = history.map((s) => s.cpuPercent);
  const peak = Math.max(100, ...values.map((v) => v ?? 0));
  return sparkline(values, width, peak);
}

/** Bytes for people, binary units: 512B, 1.5K, 230M, 2.0G; '-' for null. */
export function formatBytes(n: number | null): string {
  if (n === null) return '-';
  const units = ['B', 'K', 'M', 'G', 'T'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${Math.round(v)}B` : `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

/** A byte rate for people: 0, 12K/s, 3.4M/s; '-' for null. */
export function formatRate(bps: number | null): string {
  if (bps === null) return '-';
  if (bps === 0) return '0';
  return `${formatBytes(bps)}/s`;
}

/** CPU percent for a table cell: 97%, 3.5%, '-' for null. */
export function formatCpu(p: number | null): string {
  if (p === null) return '-';
  return p >= 10 ? `${Math.round(p)}%` : `${p.toFixed(1)}%`;
}

/** The guest's view of its memory, `used/total`, or '-' when the guest reports none. */
export function formatGuestMem(s: Pick<VmSample, 'guestMemUsedBytes' | 'guestMemTotalBytes'>): string {
  if (s.guestMemUsedBytes === null || s.guestMemTotalBytes === null) return '-';
  return `${formatBytes(s.guestMemUsedBytes)}/${formatBytes(s.guestMemTotalBytes)}`;
}
