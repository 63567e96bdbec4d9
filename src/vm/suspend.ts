// Suspend to disk, the same for every backend: refuse what cannot be saved before anything changes,
// record the operation in state.json (so a bentod that starts after a crash knows), pause, let the
// backend write saved.state.partial, make it durable and rename it, then end the VM. Any failure
// before the rename deletes the partial and lets the guest run on as it did before.
import fs from 'node:fs';
import { BentoError, errorMessage } from './errors.js';
import type { VmFiles } from './paths.js';
import { updateRuntime } from './runtime.js';
import { commitSavedState, consumeSavedState, removePartial } from './saved-state.js';
import { faultPoint } from './test-hooks.js';
import type { ProgressReporter, RunningVm } from './drivers/driver.js';
import type { SavedStateInfo } from './types.js';

/** What a suspend needs from the manager. */
export interface SuspendJob {
  name: string;
  vm: RunningVm;
  files: VmFiles;
  /** The guest was paused already (it comes back paused from the restore). */
  wasPaused: boolean;
  report: ProgressReporter;
  log: (line: string) => void;
}

/** Whether a running VM of this backend can be saved at all (the driver's capability and the VM's methods). */
export function canSave(vm: RunningVm): boolean {
  return typeof vm.saveState === 'function' && typeof vm.quitSaved === 'function';
}

/**
 * Saves a running or paused VM to saved.state and ends it. Resolves with the saved state once the VM
 * is gone; rejects with the VM as it was (running, or paused) and no saved state when the save fails.
 */
export async function suspendToDisk(job: SuspendJob): Promise<SavedStateInfo> {
  const { vm, files, wasPaused, log } = job;
  if (!canSave(vm)) throw new BentoError('unsupported', `${job.name}: this backend cannot save a VM's state`);
  // Refusals (migration blockers) come before the guest is touched.
  await vm.checkSave?.(job.name);
  if (removePartial(files)) log(`${job.name}: deleted a half-written ${files.savedStatePartial} from an earlier attempt`);
  updateRuntime(files.state, { operation: { kind: 'suspend', paused: wasPaused } });
  faultPoint('suspend-before-pause');
  let info: SavedStateInfo;
  try {
    // Paused first, so the state is written in one pass and the guest cannot change it meanwhile.
    if (!wasPaused) await vm.pause();
    let streaming = false;
    await vm.saveState!(files.savedStatePartial, (p) => {
      if (!streaming && (p.doneBytes ?? 0) > 0) {
        streaming = true;
        faultPoint('suspend-migrating');
      }
      job.report(p);
    });
    faultPoint('suspend-after-complete');
    info = commitSavedState(files);
  } catch (err) {
    removePartial(files);
    // A rename that got through before a later step failed: this state must not outlive a guest that runs on.
    if (fs.existsSync(files.savedState)) consumeSavedState(files.savedState);
    updateRuntime(files.state, { operation: null });
    if (!wasPaused) {
      await vm.resume().catch((e: unknown) => log(`${job.name}: could not resume after the failed save: ${errorMessage(e)}`));
    }
    throw err;
  }
  faultPoint('suspend-after-rename');
  updateRuntime(files.state, { savedPaused: wasPaused });
  try {
    await vm.quitSaved!();
  } catch (err) {
    // The guest must never run again while its saved state exists: end it by force.
    log(`${job.name}: could not end the saved VM cleanly (${errorMessage(err)}); killing it`);
    await vm.kill();
  }
  updateRuntime(files.state, { operation: null, savedPaused: wasPaused });
  return info;
}
