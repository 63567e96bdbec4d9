// What a bentod that starts after a crash does with a qemu whose suspend or restore the previous
// bentod did not finish. The decision is a pure table over facts read from the process and its files
// (qemu's run and migration status, which state files exist) plus the operation state.json records;
// it always ends in one of the two allowed outcomes: the VM stopped with a complete saved state, or
// the VM running (paused, if it was paused before) with no saved state.
import fs from 'node:fs';
import { errorMessage } from '../../errors.js';
import type { VmFiles } from '../../paths.js';
import { updateRuntime, type RuntimeOperation } from '../../runtime.js';
import { consumeSavedState, removePartial } from '../../saved-state.js';
import { ACTIVE_MIGRATION, type MigrationInfo } from './migrate.js';
import type { QemuVm } from './qemu-vm.js';

/** What is known about a live qemu when bentod adopts it. */
export interface RecoveryFacts {
  /** The operation state.json records for this very process, or null. */
  marker: RuntimeOperation | null;
  /** QMP query-status `status` (running, paused, postmigrate, inmigrate, …). */
  runStatus: string;
  /** QMP query-migrate `status` of an outgoing migration, or null when there was none. */
  migration: string | null;
  /** A complete saved.state exists. */
  saved: boolean;
  /** A saved.state.partial exists. */
  partial: boolean;
}

/** One step of a recovery, in the order a plan lists them. */
export type RecoveryAction = 'cancel-migration' | 'kill' | 'delete-partial' | 'consume-saved' | 'cont';

/** The steps to take and the state the VM ends in. */
export interface RecoveryPlan {
  actions: RecoveryAction[];
  /** `unchanged`: no operation was under way; the VM is adopted as it is. */
  outcome: 'running' | 'paused' | 'stopped-saved' | 'stopped' | 'unchanged';
}

/**
 * The recovery table.
 * - suspend, saved.state exists: the save was complete and renamed, only the quit was missing: end qemu
 *   (stopped, saved).
 * - suspend, no saved.state: whatever QEMU says of the migration, the partial is not proven complete
 *   (bentod may have died before its last write or before the fsync): delete it, cancel a migration
 *   still under way (its receiver, the dead bentod, is gone: it can never complete), and let the guest
 *   run on (paused if it was paused before). QEMU re-activates the disks on `cont` after a migration.
 * - restore, qemu still `inmigrate`: the load was not finished and its stream (from the dead bentod) is
 *   gone: end qemu; saved.state was not consumed, so the VM is stopped with it and a start retries.
 * - restore, loaded (paused) or running: finish the job: consume saved.state (if still there) before
 *   `cont`, so the state is never restored twice.
 */
export function planRecovery(f: RecoveryFacts): RecoveryPlan {
  const dropPartial: RecoveryAction[] = f.partial ? ['delete-partial'] : [];
  if (!f.marker) return { actions: f.migration !== null && ACTIVE_MIGRATION.has(f.migration) ? [] : dropPartial, outcome: 'unchanged' };
  const running = f.runStatus === 'running';
  if (f.marker.kind === 'suspend') {
    if (f.saved) return { actions: ['kill', ...dropPartial], outcome: 'stopped-saved' };
    const cancel: RecoveryAction[] = f.migration !== null && ACTIVE_MIGRATION.has(f.migration) ? ['cancel-migration'] : [];
    if (f.marker.paused) return { actions: [...cancel, ...dropPartial], outcome: 'paused' };
    return { actions: [...cancel, ...dropPartial, ...(running ? [] : (['cont'] as const))], outcome: 'running' };
  }
  if (f.runStatus === 'inmigrate') return { actions: ['kill', ...dropPartial], outcome: f.saved ? 'stopped-saved' : 'stopped' };
  const consume: RecoveryAction[] = f.saved ? ['consume-saved'] : [];
  if (f.marker.paused && !running) return { actions: [...consume, ...dropPartial], outcome: 'paused' };
  return { actions: [...consume, ...dropPartial, ...(running ? [] : (['cont'] as const))], outcome: 'running' };
}

/** How long a cancelled migration gets to wind down before the guest is continued. */
const CANCEL_WAIT_MS = 10_000;

/**
 * Reads the facts of an adopted qemu, carries out the plan and clears the marker. Returns false when
 * qemu was ended (the VM is stopped), true when it is adopted (running or paused).
 */
export async function recoverOperation(vm: QemuVm, files: VmFiles, marker: RuntimeOperation | null, runStatus: string, log: (line: string) => void = () => undefined): Promise<boolean> {
  const migration = marker?.kind === 'suspend' || fs.existsSync(files.savedStatePartial) ? await migrationStatus(vm) : null;
  const plan = planRecovery({ marker, runStatus, migration, saved: fs.existsSync(files.savedState), partial: fs.existsSync(files.savedStatePartial) });
  if (plan.actions.length) log(`recovering an interrupted ${marker?.kind ?? 'save'} (qemu ${runStatus}, migration ${migration ?? 'none'}): ${plan.actions.join(', ')} -> ${plan.outcome}`);
  for (const a of plan.actions) {
    switch (a) {
      case 'cancel-migration':
        await vm.qmpCall('migrate_cancel').catch(() => undefined);
        for (const deadline = Date.now() + CANCEL_WAIT_MS; Date.now() < deadline; ) {
          const s = await migrationStatus(vm);
          if (s === null || !ACTIVE_MIGRATION.has(s)) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        break;
      case 'kill':
        await vm.kill();
        break;
      case 'delete-partial':
        removePartial(files);
        break;
      case 'consume-saved':
        consumeSavedState(files.savedState);
        break;
      case 'cont':
        await vm.qmpCall('cont');
        break;
    }
  }
  if (marker) {
    try {
      updateRuntime(files.state, { operation: null });
    } catch (err) {
      log(`cannot clear the operation in ${files.state}: ${errorMessage(err)}`);
    }
  }
  return !plan.actions.includes('kill');
}

async function migrationStatus(vm: QemuVm): Promise<string | null> {
  try {
    const info = await vm.qmpCall<MigrationInfo>('query-migrate');
    return info.status ?? null;
  } catch {
    return null;
  }
}
