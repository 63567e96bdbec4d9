// vz snapshots: Virtualization.framework keeps no snapshots and vz disks are raw, so a snapshot is a
// folder in the VM's folder, snapshots/<tag>/, holding a copy of every writable disk made as an APFS
// clone (instant, no space until the disks diverge; a full copy off APFS), the machine state the
// framework saved (RAM snapshots, macOS 14+) and meta.json. It is written as snapshots/.<tag>.partial/
// and renamed into place once complete: a folder without the dot is a whole snapshot.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { BentoError, errorMessage } from '../../errors.js';
import { SNAPSHOT_FILES, vmFiles } from '../../paths.js';
import { fsyncPath } from '../../saved-state.js';
import { isValidTag, snapshotDisks } from '../../snapshots.js';
import type { Snapshot, SnapshotState, VmSpec } from '../../types.js';
import type { ProgressReporter, RunningVm, VmSnapshotStore } from '../driver.js';

/** Copies src to dst (which must not exist) as a clone where the filesystem can, else byte for byte. */
export type CloneFile = (src: string, dst: string) => void;

/** Errors after which a forced clone is retried as a plain copy (the filesystem cannot clone, or not across these two places). */
const NO_CLONE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS', 'EINVAL', 'EPERM', 'ENOTTY']);

/**
 * The default CloneFile: COPYFILE_FICLONE_FORCE (clonefile on APFS: instant, shares blocks), falling
 * back to COPYFILE_FICLONE, which clones where it can and copies otherwise (HFS+, an external disk).
 */
export function cloneFile(src: string, dst: string): void {
  const C = fs.constants;
  try {
    fs.copyFileSync(src, dst, C.COPYFILE_EXCL | C.COPYFILE_FICLONE_FORCE);
  } catch (err) {
    if (!NO_CLONE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    fs.rmSync(dst, { force: true });
    fs.copyFileSync(src, dst, C.COPYFILE_EXCL | C.COPYFILE_FICLONE);
  }
}

/** One disk a snapshot holds: the VM's image path and the copy's name in the snapshot folder. */
export interface SnapshotDisk {
  path: string;
  file: string;
}

const metaSchema = z.object({
  version: z.literal(1),
  tag: z.string(),
  createdAt: z.string(),
  state: z.enum(['running', 'paused', 'stopped']),
  withRam: z.boolean(),
  /** Bytes of the saved machine state (0 for a disk-only snapshot). */
  bytes: z.number().int().min(0),
  disks: z.array(z.object({ path: z.string(), file: z.string() })),
});

/** meta.json of a vz snapshot. */
export type VzSnapshotMeta = z.infer<typeof metaSchema>;

/** The snapshot folder's copy name for the disk at this index of spec.disks (index first: two disks may share a base name). */
export function diskCopyName(index: number, diskPath: string): string {
  return `disk${index}-${path.basename(diskPath)}`;
}

/** Reads a snapshot folder's meta.json; null when it is absent or not one bento wrote. */
export function readVzSnapshotMeta(folder: string): VzSnapshotMeta | null {
  try {
    const parsed = metaSchema.safeParse(JSON.parse(fs.readFileSync(path.join(folder, SNAPSHOT_FILES.meta), 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Why a snapshot folder cannot be restored onto this VM (its files or its disks differ), or null. */
function mismatch(spec: Pick<VmSpec, 'disks'>, folder: string, meta: VzSnapshotMeta): string | null {
  const now = snapshotDisks(spec).map((d) => d.disk.path);
  const then = meta.disks.map((d) => d.path);
  if (now.length !== then.length || now.some((p, i) => p !== then[i])) return `it holds disks ${then.join(', ') || '(none)'} and the VM now has ${now.join(', ') || '(none)'}`;
  for (const f of [...meta.disks.map((d) => d.file), ...(meta.withRam ? [SNAPSHOT_FILES.state] : [])]) {
    if (!fs.existsSync(path.join(folder, f))) return `${f} is missing from it`;
  }
  return null;
}

/** The vz backend's snapshots: folders of disk clones and saved state beside the VM. */
export class VzSnapshots implements VmSnapshotStore {
  /** Partial folders a create in this process is writing now: never removed as leftovers. */
  private readonly writing = new Set<string>();

  constructor(private readonly clone: CloneFile = cloneFile) {}

  /** The folder holding a VM's snapshots. */
  static root(dir: string): string {
    return vmFiles(dir).vzSnapshots;
  }

  /** The folder of one complete snapshot. */
  static folder(dir: string, tag: string): string {
    return path.join(VzSnapshots.root(dir), tag);
  }

  async list(spec: VmSpec, dir: string): Promise<Snapshot[]> {
    const root = VzSnapshots.root(dir);
    let names: string[];
    try {
      names = fs.readdirSync(root);
    } catch {
      return [];
    }
    this.removeLeftovers(root, names);
    const out: Snapshot[] = [];
    for (const name of names) {
      // Only a folder named exactly a tag is a snapshot: partials and removals start with a dot.
      if (!isValidTag(name)) continue;
      const folder = path.join(root, name);
      const meta = readVzSnapshotMeta(folder);
      if (!meta || meta.tag !== name) continue;
      out.push({
        tag: name,
        createdAt: meta.createdAt,
        vmStateBytes: meta.bytes,
        withRam: meta.withRam,
        state: meta.state,
        // Clones share blocks with the disks they came from: what a snapshot holds on its own is not known cheaply.
        diskBytes: null,
        // A snapshot of other disks than the VM has now (changed by PATCH) can only be removed.
        complete: mismatch(spec, folder, meta) === null,
      });
    }
    return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.tag.localeCompare(b.tag));
  }

  /** Removes what a crash left half-made: partial folders nobody writes, and folders being removed. */
  private removeLeftovers(root: string, names: string[]): void {
    for (const name of names) {
      const p = path.join(root, name);
      const partial = name.startsWith(SNAPSHOT_FILES.partialPrefix) && name.endsWith(SNAPSHOT_FILES.partialSuffix);
      const removing = name.startsWith(SNAPSHOT_FILES.partialPrefix) && name.endsWith(SNAPSHOT_FILES.removingSuffix);
      if ((partial && !this.writing.has(p)) || removing) fs.rmSync(p, { recursive: true, force: true });
    }
  }

  async create(spec: VmSpec, dir: string, tag: string, opts: { vm: RunningVm | null; paused: boolean; createdAt: string; onProgress?: ProgressReporter }): Promise<Snapshot> {
    const root = VzSnapshots.root(dir);
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    this.removeLeftovers(root, fs.readdirSync(root));
    const final = VzSnapshots.folder(dir, tag);
    if (fs.existsSync(final)) throw new BentoError('already-exists', `${spec.name} already has a snapshot named ${tag}`, { fields: [{ field: 'tag', message: 'is taken' }] });
    const partial = path.join(root, `${SNAPSHOT_FILES.partialPrefix}${tag}${SNAPSHOT_FILES.partialSuffix}`);
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(partial, { mode: 0o700 });
    this.writing.add(partial);
    const disks: SnapshotDisk[] = snapshotDisks(spec).map((d) => ({ path: d.disk.path, file: diskCopyName(d.index, d.disk.path) }));
    try {
      const { vm } = opts;
      let bytes = 0;
      if (vm) {
        if (!vm.saveState) throw new BentoError('unsupported', `the vz backend cannot save ${spec.name}'s machine state`);
        const stateFile = path.join(partial, SNAPSHOT_FILES.state);
        // The framework saves only a paused VM; the disks are copied while it stays paused, so they
        // match the saved RAM to the instant. The guest runs on (if it ran) once the copies exist.
        if (!opts.paused) await vm.pause();
        try {
          await vm.saveState(stateFile, opts.onProgress);
          this.copyDisks(disks, partial);
        } finally {
          if (!opts.paused) await vm.resume();
        }
        bytes = fs.statSync(stateFile).size;
      } else {
        this.copyDisks(disks, partial);
      }
      const state: SnapshotState = vm ? (opts.paused ? 'paused' : 'running') : 'stopped';
      const meta: VzSnapshotMeta = { version: 1, tag, createdAt: opts.createdAt, state, withRam: vm !== null, bytes, disks };
      fs.writeFileSync(path.join(partial, SNAPSHOT_FILES.meta), JSON.stringify(meta, null, 2) + '\n', { mode: 0o600 });
      // Durable before it is named: a snapshot that survives a crash is a whole one.
      for (const f of fs.readdirSync(partial)) fsyncPath(path.join(partial, f));
      fsyncPath(partial);
      fs.renameSync(partial, final);
      fsyncPath(root);
      return { tag, createdAt: opts.createdAt, vmStateBytes: bytes, withRam: meta.withRam, state, diskBytes: null, complete: true };
    } catch (err) {
      fs.rmSync(partial, { recursive: true, force: true });
      throw err;
    } finally {
      this.writing.delete(partial);
    }
  }

  private copyDisks(disks: SnapshotDisk[], into: string): void {
    for (const d of disks) {
      try {
        this.clone(d.path, path.join(into, d.file));
      } catch (err) {
        throw new BentoError('io-error', `cannot copy ${d.path} into the snapshot: ${errorMessage(err)}`, { cause: err });
      }
    }
  }

  /** The complete snapshot's folder and meta, or a clear error (not there, or not for these disks). */
  open(spec: VmSpec, dir: string, tag: string): { folder: string; meta: VzSnapshotMeta } {
    const folder = VzSnapshots.folder(dir, tag);
    const meta = readVzSnapshotMeta(folder);
    if (!meta || meta.tag !== tag) throw new BentoError('not-found', `${spec.name} has no snapshot named ${tag}`);
    const why = mismatch(spec, folder, meta);
    if (why) throw new BentoError('invalid-state', `snapshot ${tag} of ${spec.name} cannot be restored: ${why}; it can only be removed`);
    return { folder, meta };
  }

  async revertDisks(spec: VmSpec, dir: string, tag: string): Promise<void> {
    const { folder, meta } = this.open(spec, dir, tag);
    const done: string[] = [];
    for (const d of meta.disks) {
      // Cloned beside the disk, then renamed over it: a crash leaves the old disk or the snapshot's, never half of one.
      const tmp = `${d.path}.bento-restore`;
      try {
        fs.rmSync(tmp, { force: true });
        this.clone(path.join(folder, d.file), tmp);
        fs.chmodSync(tmp, fs.statSync(d.path).mode & 0o777);
        fsyncPath(tmp);
        fs.renameSync(tmp, d.path);
        fsyncPath(path.dirname(d.path));
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        const already = done.length ? `; already reverted: ${done.join(', ')} (restore again to finish)` : '';
        throw new BentoError('io-error', `cannot put ${d.path} back from snapshot ${tag}: ${errorMessage(err)}${already}`, { cause: err });
      }
      done.push(d.path);
    }
  }

  /**
   * Makes a throwaway clone of a RAM snapshot's saved state at `dst` for a restore to load (and delete):
   * the snapshot's own file must survive the restore.
   */
  stateCopy(spec: VmSpec, dir: string, tag: string, dst: string): void {
    const { folder, meta } = this.open(spec, dir, tag);
    if (!meta.withRam) throw new BentoError('invalid-state', `snapshot ${tag} of ${spec.name} holds no machine state`);
    fs.rmSync(dst, { force: true });
    this.clone(path.join(folder, SNAPSHOT_FILES.state), dst);
  }

  async remove(spec: VmSpec, dir: string, tag: string): Promise<void> {
    const folder = VzSnapshots.folder(dir, tag);
    if (!fs.existsSync(folder)) throw new BentoError('not-found', `${spec.name} has no snapshot named ${tag}`);
    // Renamed away first: the snapshot leaves the list in one step, and a crash mid-delete leaves a dot folder that the next list removes.
    const gone = path.join(VzSnapshots.root(dir), `${SNAPSHOT_FILES.partialPrefix}${tag}${SNAPSHOT_FILES.removingSuffix}`);
    fs.rmSync(gone, { recursive: true, force: true });
    fs.renameSync(folder, gone);
    fsyncPath(VzSnapshots.root(dir));
    fs.rmSync(gone, { recursive: true, force: true });
  }
}
