// The saved state of a suspended VM on disk (saved.state) and the only ways it comes to be and goes
// away: written as saved.state.partial, made durable (file fsync), renamed, the folder fsynced; deleted
// (with a folder fsync) before the guest it holds runs again. A .partial is never used for anything.
import fs from 'node:fs';
import path from 'node:path';
import type { VmFiles } from './paths.js';
import type { SavedStateInfo } from './types.js';

/** The complete saved state of a VM folder, or null when there is none. */
export function savedStateInfo(files: Pick<VmFiles, 'savedState'>): SavedStateInfo | null {
  try {
    const st = fs.statSync(files.savedState);
    return st.isFile() ? { at: st.mtime.toISOString(), bytes: st.size } : null;
  } catch {
    return null;
  }
}

/** fsyncs a file or a folder (a folder's fsync makes a rename or unlink inside it durable). */
export function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Makes a fully written .partial the saved state: fsync it, rename it, fsync the folder. */
export function commitSavedState(files: Pick<VmFiles, 'savedState' | 'savedStatePartial'>): SavedStateInfo {
  fsyncPath(files.savedStatePartial);
  fs.renameSync(files.savedStatePartial, files.savedState);
  fsyncPath(path.dirname(files.savedState));
  const info = savedStateInfo(files);
  if (!info) throw new Error(`${files.savedState} vanished right after it was written`);
  return info;
}

/** Deletes a saved state durably: after this returns, no later start (even after a crash) can restore it. */
export function consumeSavedState(file: string): void {
  fs.rmSync(file, { force: true });
  fsyncPath(path.dirname(file));
}

/** Deletes a half-written state, if any; true when there was one. */
export function removePartial(files: Pick<VmFiles, 'savedStatePartial'>): boolean {
  if (!fs.existsSync(files.savedStatePartial)) return false;
  fs.rmSync(files.savedStatePartial, { force: true });
  return true;
}
