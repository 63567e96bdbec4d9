import fs from 'node:fs';
import { writeFileSync } from 'atomically';
import { z } from 'zod';
import { BentoError } from './errors.js';
import type { DiskSpec, Snapshot, SnapshotState, VmSpec } from './types.js';

/** The tag rule, as users read it in errors. */
export const TAG_RULE = '1-63 characters: a letter or digit, then letters, digits, . _ or -; not all digits (QEMU reads a number as a snapshot id)';

const TAG_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Whether a string is a valid snapshot tag. */
export function isValidTag(tag: unknown): tag is string {
  return typeof tag === 'string' && TAG_RE.test(tag) && !/^\d+$/.test(tag);
}

/** Returns the tag, or throws `invalid-input` naming the field `tag` and the rule. */
export function checkTag(tag: unknown): string {
  if (isValidTag(tag)) return tag;
  const shown = typeof tag === 'string' ? `"${tag.slice(0, 80)}"` : typeof tag;
  throw new BentoError('invalid-input', `tag: ${shown} must be ${TAG_RULE}`, { fields: [{ field: 'tag', message: `must be ${TAG_RULE}` }] });
}

/** The tag a snapshot gets when none is given: `snap-YYYYMMDD-HHMMSS` (UTC), suffixed `-2`, `-3`… if taken. */
export function defaultTag(now: Date, taken: ReadonlySet<string>): string {
  const iso = now.toISOString();
  const base = `snap-${iso.slice(0, 10).replaceAll('-', '')}-${iso.slice(11, 19).replaceAll(':', '')}`;
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

/** One internal snapshot of one qcow2 image, as `qemu-img info --output=json` lists it. */
export interface DiskSnapshotInfo {
  id: string;
  name: string;
  'vm-state-size': number;
  'date-sec': number;
  'date-nsec': number;
}

/** The snapshots of one writable disk of a VM. */
export interface DiskSnapshots {
  path: string;
  snapshots: DiskSnapshotInfo[];
}

/** What bento records about a snapshot beyond the qcow2 (snapshots.json); only ever a hint beside the disks. */
export interface SnapshotMeta {
  tag: string;
  createdAt: string;
  state: SnapshotState;
  /** The qcow2 date (seconds) of the tag in the first writable disk: a tag re-made outside bento does not match. */
  diskDateSec: number;
}

const metaSchema = z.object({
  version: z.literal(1),
  snapshots: z.array(
    z.object({
      tag: z.string(),
      createdAt: z.string(),
      state: z.enum(['running', 'paused', 'stopped']),
      diskDateSec: z.number(),
    }),
  ),
});

/** Reads snapshots.json; an absent or unreadable file is no records (the disks stay the truth). */
export function readSnapshotMeta(file: string): SnapshotMeta[] {
  try {
    const parsed = metaSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data.snapshots : [];
  } catch {
    return [];
  }
}

/** Writes snapshots.json atomically (temp, fsync, rename), mode 0600. */
export function writeSnapshotMeta(file: string, records: SnapshotMeta[]): void {
  writeFileSync(file, JSON.stringify({ version: 1, snapshots: records }, null, 2) + '\n', { mode: 0o600 });
}

/** The disks a snapshot covers: every writable disk (read-only disks, the ISO and the seed are not part of it). */
export function snapshotDisks(spec: Pick<VmSpec, 'disks'>): { index: number; disk: DiskSpec }[] {
  return spec.disks.map((disk, index) => ({ index, disk })).filter((d) => !d.disk.readonly);
}

/** What a refusal depends on beyond the spec: whether the snapshot holds RAM, and whether this host can save it (vz). */
export interface RefusalContext {
  /** The snapshot holds the machine state (a running or paused VM, or restoring a RAM snapshot). */
  withRam?: boolean;
  /** The backend can save and restore machine state here (vz: macOS 14 on Apple silicon). */
  saveRestore?: boolean;
}

/** Why no snapshot of this VM can be taken or restored, or null when it can. */
export function snapshotRefusal(spec: Pick<VmSpec, 'name' | 'backend' | 'disks'>, ctx: RefusalContext = {}): BentoError | null {
  const disks = snapshotDisks(spec);
  if (spec.backend === 'vz') {
    // vz keeps clones of its raw disks beside the VM; the RAM needs the framework's save (macOS 14).
    if (ctx.withRam && !ctx.saveRestore) {
      return new BentoError('unsupported', `a snapshot of a running vz VM holds its RAM, which needs macOS 14 on Apple silicon (Virtualization.framework's save); stop ${spec.name} (bento stop ${spec.name}) for a disk-only snapshot`);
    }
    if (disks.length === 0 && !ctx.withRam) return new BentoError('unsupported', `${spec.name} has no writable disk to keep a snapshot of`);
    return null;
  }
  // A raw image keeps no snapshots; a snapshot of the others would restore them against a disk that moved on.
  const raw = disks.find((d) => d.disk.format !== 'qcow2');
  if (raw) return new BentoError('unsupported', `disk ${raw.disk.path} is raw; snapshots need qcow2 disks (attach it read-only or convert it with qemu-img convert -O qcow2)`);
  if (disks.length === 0) return new BentoError('unsupported', `${spec.name} has no writable disk to keep a snapshot in`);
  return null;
}

/**
 * Merges what the disks hold with bento's records into the snapshot list, newest first. A tag is
 * a snapshot if any writable disk has it; it is complete only if every one does. The records only
 * add what qcow2 cannot say (the run state, bento's time), and only when they match the disk's date.
 */
export function mergeSnapshots(disks: DiskSnapshots[], meta: SnapshotMeta[]): Snapshot[] {
  const byTag = new Map<string, { found: DiskSnapshotInfo[]; first: DiskSnapshotInfo | undefined }>();
  disks.forEach((d, i) => {
    // One disk holding the same name twice (made by hand) counts once.
    const seen = new Set<string>();
    for (const s of d.snapshots) {
      if (seen.has(s.name)) continue;
      seen.add(s.name);
      let t = byTag.get(s.name);
      if (!t) byTag.set(s.name, (t = { found: [], first: undefined }));
      t.found.push(s);
      if (i === 0) t.first = s;
    }
  });
  const out: Snapshot[] = [];
  for (const [tag, t] of byTag) {
    const vmStateBytes = t.found.reduce((n, s) => n + (s['vm-state-size'] || 0), 0);
    const withRam = vmStateBytes > 0;
    const dateSec = Math.min(...t.found.map((s) => s['date-sec']));
    const rec = meta.find((m) => m.tag === tag && t.first !== undefined && m.diskDateSec === t.first['date-sec']);
    // A record that disagrees with the disks is not believed: a RAM snapshot is never `stopped`, nor the reverse.
    const recState = rec && (rec.state === 'stopped') === !withRam ? rec.state : undefined;
    out.push({
      tag,
      createdAt: rec?.createdAt ?? new Date(dateSec * 1000).toISOString(),
      vmStateBytes,
      withRam,
      state: recState ?? (withRam ? 'running' : 'stopped'),
      diskBytes: null,
      complete: t.found.length === disks.length,
    });
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.tag.localeCompare(b.tag));
}

/** Parses `qemu-img info --output=json` output into its snapshot list (none when it has no `snapshots`). */
export function parseImageSnapshots(json: string): DiskSnapshotInfo[] {
  const info = JSON.parse(json) as { snapshots?: unknown };
  if (!Array.isArray(info.snapshots)) return [];
  return info.snapshots
    .filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null && typeof (s as { name?: unknown }).name === 'string')
    .map((s) => ({
      id: String(s.id ?? ''),
      name: s.name as string,
      'vm-state-size': typeof s['vm-state-size'] === 'number' ? s['vm-state-size'] : 0,
      'date-sec': typeof s['date-sec'] === 'number' ? s['date-sec'] : 0,
      'date-nsec': typeof s['date-nsec'] === 'number' ? s['date-nsec'] : 0,
    }));
}

/** Reads one image's snapshot table (the backend's qemu-img); injected so the listing is testable. */
export type ListDisk = (disk: string) => Promise<DiskSnapshotInfo[]>;

/** What the disks of a VM hold now, merged with bento's records: the snapshot list and the raw per-disk tables. */
export async function listSnapshots(spec: Pick<VmSpec, 'disks'>, listDisk: ListDisk, metaFile: string): Promise<{ snapshots: Snapshot[]; disks: DiskSnapshots[] }> {
  const disks = await Promise.all(
    snapshotDisks(spec)
      // A raw disk holds no snapshots (and such a VM can take none): only the qcow2 ones are read.
      .filter((d) => d.disk.format === 'qcow2')
      .map(async (d) => ({ path: d.disk.path, snapshots: await listDisk(d.disk.path) })),
  );
  return { snapshots: mergeSnapshots(disks, readSnapshotMeta(metaFile)), disks };
}

/** Records a new snapshot in snapshots.json, dropping records of tags the disks no longer hold. */
export function recordSnapshot(metaFile: string, rec: SnapshotMeta, disks: DiskSnapshots[]): void {
  const present = new Set(disks.flatMap((d) => d.snapshots.map((s) => s.name)));
  const kept = readSnapshotMeta(metaFile).filter((m) => m.tag !== rec.tag && present.has(m.tag));
  writeSnapshotMeta(metaFile, [...kept, rec]);
}

/** Drops a removed snapshot's record (and any record the disks no longer back). */
export function forgetSnapshot(metaFile: string, tag: string, disks: DiskSnapshots[]): void {
  const present = new Set(disks.flatMap((d) => d.snapshots.map((s) => s.name)));
  const before = readSnapshotMeta(metaFile);
  const kept = before.filter((m) => m.tag !== tag && present.has(m.tag));
  if (kept.length !== before.length) writeSnapshotMeta(metaFile, kept);
}
