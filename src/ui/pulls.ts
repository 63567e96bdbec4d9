/**
 * Image pulls for VMs that do not exist yet, as the table shows them: one provisional row per VM
 * name, driven by the pull's progress events, gone once the VM is defined or the pull fails.
 */
import type { Vm } from '../vm/types.js';
import type { ImageProgress } from './image-api.js';
import { compileFilter } from './vm-view.js';

/** A pull under way for a VM that is not defined yet. */
export interface PullView {
  /** The VM it is for. */
  name: string;
  ref: string;
  phase: ImageProgress['phase'];
  received: number;
  total: number | null;
  bytesPerSec: number;
  etaSeconds: number | null;
}

/**
 * The VM a progress event is for: the one it names, else the one this TUI pulls that ref for
 * (`local`: name -> ref); null when it is for no VM, or for one that exists already.
 */
export function pullTarget(p: ImageProgress, local: ReadonlyMap<string, string>, vms: ReadonlyMap<string, Vm>): string | null {
  let name: string | null = p.vm ?? null;
  if (name === null) {
    for (const [n, ref] of local) if (ref === p.ref) name = n;
  }
  return name !== null && !vms.has(name) ? name : null;
}

/** The pull as an event reports it. */
export function pullView(name: string, p: ImageProgress): PullView {
  return { name, ref: p.ref, phase: p.phase, received: p.received, total: p.total, bytesPerSec: p.bytesPerSec, etaSeconds: p.etaSeconds };
}

/** A pull this TUI just asked for, before bentod reports on it. */
export function startingPull(name: string, ref: string): PullView {
  return { name, ref, phase: 'checksum', received: 0, total: null, bytesPerSec: 0, etaSeconds: null };
}

/** The pulls whose VM is not defined; the same map when none is. */
export function pendingPulls(pulls: ReadonlyMap<string, PullView>, vms: ReadonlyMap<string, Vm>): ReadonlyMap<string, PullView> {
  let out: Map<string, PullView> | null = null;
  for (const name of pulls.keys()) {
    if (!vms.has(name)) continue;
    out ??= new Map(pulls);
    out.delete(name);
  }
  return out ?? pulls;
}

/** The pull rows the table shows: matching the filter, by name. */
export function visiblePulls(pulls: ReadonlyMap<string, PullView>, filter: string): PullView[] {
  if (pulls.size === 0) return [];
  const match = compileFilter(filter);
  return [...pulls.values()].filter((p) => !match || match(p.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Bytes for people, in decimal units as download tools show them: 512 B, 11.3 MB, 412 MB, 1.2 GB. */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = Math.max(n, 0);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  return `${v < 100 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** Seconds as m:ss, or h:mm:ss from an hour. */
export function formatEta(seconds: number): string {
  const s = Math.max(Math.round(seconds), 0);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** The state text of a pull row: `pulling 42% 11.3 MB/s ETA 0:37 · debian-12`. */
export function pullLabel(p: PullView): string {
  let what: string;
  switch (p.phase) {
    case 'checksum':
      what = 'pulling: fetching checksums';
      break;
    case 'download': {
      const parts = ['pulling'];
      if (p.total) parts.push(`${Math.min(Math.floor((p.received / p.total) * 100), 100)}%`);
      else parts.push(formatBytes(p.received));
      if (p.bytesPerSec > 0) parts.push(`${formatBytes(p.bytesPerSec)}/s`);
      if (p.etaSeconds !== null) parts.push(`ETA ${formatEta(p.etaSeconds)}`);
      what = parts.join(' ');
      break;
    }
    case 'verify':
      what = 'pulling: verifying';
      break;
    case 'done':
      what = 'pulled: creating the VM';
      break;
    case 'error':
      what = 'pull failed';
      break;
  }
  return `${what} · ${p.ref}`;
}
