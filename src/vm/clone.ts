/**
 * Clone and rename of a stopped VM: the new definition, which disks can be copied, the copy itself.
 *
 * A clone gets its own copy of every disk bento made for the source (an image VM's overlay stays an
 * overlay on the same cached base), a new MAC, and, for a cloud-init VM, a new seed: a new
 * instance-id and the new name as hostname, the same guest user, keys and user-data. Its internal
 * snapshots, saved state, known_hosts and logs are not carried (`qemu-img convert` drops snapshots).
 * Read-only disks from outside the VM folder are shared; a writable one cannot be (one writer per
 * disk), so such a VM is not cloned.
 *
 * A rename moves the folder in one rename(2) and rewrites vm.json; the guest keeps its identity (its
 * seed and hostname are not changed) and its pinned host keys move to the new alias.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { BentoError, errorMessage } from './errors.js';
import { vmFiles } from './paths.js';
import { randomMac } from './spec.js';
import type { DiskSpec, VmSpec } from './types.js';

const run = promisify(execFile);

/** Whether `file` lies inside `dir`. */
function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** A disk path of `from`'s folder moved to the same place in `to`; other paths are kept. */
export function movedPath(p: string, from: string, to: string): string {
  return inside(from, p) ? path.join(to, path.relative(from, p)) : p;
}

/** Why a VM's disks cannot be cloned (a writable disk it does not own), or null. */
export function cloneDiskRefusal(spec: VmSpec, dir: string): BentoError | null {
  for (const d of spec.disks) {
    if (d.readonly) continue;
    if (!d.owned || !inside(dir, d.path)) {
      return new BentoError('invalid-state', `${spec.name} has a writable disk it does not own (${d.path}): a disk has one writer, so it cannot be shared with a clone; detach it or make it read-only first`);
    }
  }
  return null;
}

/** The definition of a clone of `src` named `name` in folder `dir` (the source's folder is `srcDir`). */
export function cloneSpec(src: VmSpec, srcDir: string, name: string, dir: string, now = new Date()): VmSpec {
  return {
    ...src,
    name,
    mac: randomMac(),
    createdAt: now.toISOString(),
    disks: src.disks.map((d) => ({ ...d, path: movedPath(d.path, srcDir, dir) })),
    cloudInit: src.cloudInit ? { ...src.cloudInit, instanceId: `bento-${randomBytes(8).toString('hex')}` } : null,
  };
}

/** The definition after a rename: the new name, its owned disks in the new folder. */
export function renamedSpec(src: VmSpec, srcDir: string, name: string, dir: string): VmSpec {
  return { ...src, name, disks: src.disks.map((d) => ({ ...d, path: movedPath(d.path, srcDir, dir) })) };
}

/**
 * Copies one owned disk: qcow2 through `qemu-img convert` (internal snapshots dropped; an overlay
 * keeps its backing file, and only what differs from it is written), raw as a reflink copy where
 * the filesystem can, a plain copy otherwise.
 */
export async function copyDisk(from: DiskSpec, to: string, backing: { path: string; format: string } | null): Promise<void> {
  try {
    if (from.format === 'qcow2') {
      const b = backing ? ['-B', backing.path, '-F', backing.format] : [];
      await run('qemu-img', ['convert', '-q', '-O', 'qcow2', ...b, '--', from.path, to], { timeout: 30 * 60_000 });
    } else {
      fs.copyFileSync(from.path, to, fs.constants.COPYFILE_FICLONE | fs.constants.COPYFILE_EXCL);
    }
    fs.chmodSync(to, 0o600);
  } catch (err) {
    throw new BentoError('io-error', `failed to copy the disk ${from.path} to ${to}: ${errorMessage(err)}`, { cause: err });
  }
}

/** The backing file of a qcow2 image (null when it has none), as qemu-img reports it. */
export async function backingOf(file: string): Promise<{ path: string; format: string } | null> {
  const { stdout } = await run('qemu-img', ['info', '--output=json', '-U', '--', file], { timeout: 60_000 });
  const info = JSON.parse(stdout) as { 'full-backing-filename'?: string; 'backing-filename'?: string; 'backing-filename-format'?: string };
  const p = info['full-backing-filename'] ?? info['backing-filename'];
  return p ? { path: p, format: info['backing-filename-format'] ?? 'qcow2' } : null;
}

/**
 * Fills a clone's folder: copies of the owned disks, the UEFI variables (its boot entries), and the
 * seed's input (the user's user-data) so its seed can be made and remade.
 */
export async function copyForClone(src: VmSpec, srcDir: string, clone: VmSpec, dir: string): Promise<void> {
  for (let i = 0; i < src.disks.length; i++) {
    const d = src.disks[i]!;
    if (!d.owned || !inside(srcDir, d.path)) continue;
    await copyDisk(d, clone.disks[i]!.path, d.format === 'qcow2' ? await backingOf(d.path) : null);
  }
  const a = vmFiles(srcDir);
  const b = vmFiles(dir);
  for (const k of ['efiVars', 'seedInput'] as const) {
    if (fs.existsSync(a[k])) fs.copyFileSync(a[k], b[k], fs.constants.COPYFILE_EXCL);
  }
}

/** The user-data a VM's seed was made from (kept beside it), or null. */
export function seedUserData(dir: string): string | null {
  try {
    const v = JSON.parse(fs.readFileSync(vmFiles(dir).seedInput, 'utf8')) as { userData?: unknown };
    return typeof v.userData === 'string' ? v.userData : null;
  } catch {
    return null;
  }
}

/** Moves the pinned host keys of a renamed VM to its new alias (`bento-OLD` lines become `bento-NEW`). */
export function renameKnownHosts(file: string, oldAlias: string, newAlias: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return;
  }
  const next = text
    .split('\n')
    .map((l) => (l.startsWith(`${oldAlias} `) ? `${newAlias}${l.slice(oldAlias.length)}` : l))
    .join('\n');
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, next, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
