/** How the TUI shows snapshots: pure, so the wording is tested without a screen. */
import type { Snapshot } from '../vm/types.js';

/** How long ago an ISO time was, short: 12s, 5m, 3h, 2d, then the date. */
export function snapshotAge(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  if (s < 30 * 86400) return `${Math.floor(s / 86400)}d ago`;
  return iso.slice(0, 10);
}

/** What a snapshot holds, in a word or two: RAM (and whether it comes back paused), or the disks only. */
export function snapshotKind(s: Snapshot): string {
  if (!s.complete) return 'incomplete';
  if (!s.withRam) return 'disk';
  return s.state === 'paused' ? 'RAM, paused' : 'RAM';
}

/** One snapshot on one line: `tag · 5m ago · RAM`. */
export function snapshotLine(s: Snapshot, now = Date.now()): string {
  return `${s.tag} · ${snapshotAge(s.createdAt, now)} · ${snapshotKind(s)}`;
}

/** The details pane's snapshot lines (newest first, at most `max`, the last saying how many more). */
export function snapshotRows(list: readonly Snapshot[] | null, error: string | null, max: number, now = Date.now()): string[] {
  if (error) return [error];
  if (!list) return ['…'];
  if (list.length === 0) return ['none (v takes one)'];
  if (list.length <= max) return list.map((s) => snapshotLine(s, now));
  return [...list.slice(0, Math.max(max - 1, 0)).map((s) => snapshotLine(s, now)), `+${list.length - Math.max(max - 1, 0)} more (V lists them)`];
}
