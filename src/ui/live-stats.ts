/** The TUI's copy of the live figures bentod pushes (event: stats), per VM. */
import type { StatsEvent, VmSample, VmStatsNotes } from '../vm/types.js';

/** Samples kept per VM for sparklines: the last minute at 1 Hz. */
export const LIVE_HISTORY = 60;

/** One VM's live figures: its recent samples (oldest first) and why some figures are absent. */
export interface VmLiveStats {
  history: readonly VmSample[];
  notes: VmStatsNotes;
}

/**
 * Folds one stats event into the per-VM map: VMs in the event get a new object (so only their rows
 * redraw), VMs absent from it keep theirs until `stoppedNames` says they stopped (a VM may miss one tick
 * when its monitor is slow). Returns the same map when nothing changed.
 */
export function applyStats(cur: ReadonlyMap<string, VmLiveStats>, ev: StatsEvent, keep = LIVE_HISTORY): ReadonlyMap<string, VmLiveStats> {
  const next = new Map(cur);
  for (const [name, s] of Object.entries(ev.vms)) {
    const old = cur.get(name);
    const history = old ? [...old.history.slice(-(keep - 1)), s] : [s];
    next.set(name, { history, notes: ev.notes?.[name] ?? old?.notes ?? {} });
  }
  return next;
}

/** Drops the figures of a VM that is no longer running. */
export function dropStats(cur: ReadonlyMap<string, VmLiveStats>, name: string): ReadonlyMap<string, VmLiveStats> {
  if (!cur.has(name)) return cur;
  const next = new Map(cur);
  next.delete(name);
  return next;
}
