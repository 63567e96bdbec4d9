import type { VmState } from '../../types.js';
import type { QmpEvent } from './qmp.js';

/** A state change read from QMP: the new state and why, if QMP says. */
export interface QmpTransition {
  state: VmState;
  reason: string | null;
}

/**
 * Every QMP RunState (query-status `status`) and the bento state plus reason it means. Paused-like
 * states stay `paused` because `cont` (or a wake-up) brings them back; the error states need the
 * user to look, so they are `error` even though qemu is still alive.
 */
export const QUERY_STATUS_TABLE: Readonly<Record<string, QmpTransition>> = {
  running: { state: 'running', reason: null },
  paused: { state: 'paused', reason: null },
  // Started with -S and never sent `cont` (bentod died between spawning qemu and `cont`).
  prelaunch: { state: 'paused', reason: null },
  // The guest put itself to sleep (ACPI S3); it wakes on system_wakeup, not on our power button.
  suspended: { state: 'paused', reason: 'suspended' },
  // Stopped by a debugger (gdbstub) or a watchdog whose action is `pause`.
  debug: { state: 'paused', reason: null },
  watchdog: { state: 'paused', reason: 'watchdog' },
  // Waiting for, or loading, an incoming migration stream: that is how a saved VM is restored.
  inmigrate: { state: 'restoring', reason: null },
  // The last phase of an outgoing migration (vCPUs stopped while the final state is written).
  'finish-migrate': { state: 'saving', reason: null },
  // Migration finished: the source is stopped but can still be resumed.
  postmigrate: { state: 'paused', reason: null },
  colo: { state: 'paused', reason: null },
  'save-vm': { state: 'saving', reason: null },
  'restore-vm': { state: 'restoring', reason: null },
  // The guest powered off but qemu was kept alive (-no-shutdown).
  shutdown: { state: 'stopped', reason: null },
  'io-error': { state: 'error', reason: 'io-error' },
  'internal-error': { state: 'error', reason: 'internal-error' },
  'guest-panicked': { state: 'error', reason: 'panicked' },
};

/** The bento state for a query-status answer; unknown (newer) run states fall back on `running`. */
export function stateFromQueryStatus(status: string, running: boolean): VmState {
  return lookup(QUERY_STATUS_TABLE, status)?.state ?? (running ? 'running' : 'paused');
}

/** The reason that goes with a query-status answer, where one applies. */
export function reasonFromQueryStatus(status: string): string | null {
  return lookup(QUERY_STATUS_TABLE, status)?.reason ?? null;
}

/**
 * SHUTDOWN `reason` (QAPI ShutdownCause) to bento reason. `forced` is for stops bento asked for
 * over QMP; `host-killed` for anything else on the host (a signal, a closed window).
 */
export const SHUTDOWN_REASONS: Readonly<Record<string, string>> = {
  'guest-shutdown': 'guest-shutdown',
  // Only a SHUTDOWN under -no-reboot: the guest rebooted and qemu exited instead.
  'guest-reset': 'guest-reset',
  'guest-panic': 'panicked',
  'host-qmp-quit': 'forced',
  'host-qmp-system-reset': 'forced',
  'host-signal': 'host-killed',
  'host-ui': 'host-killed',
  'host-error': 'host-error',
  'subsystem-reset': 'guest-reset',
  'snapshot-load': 'forced',
};

/** The bento reason for a SHUTDOWN event's data; QEMU before 4.0 sent only `guest`. */
export function shutdownReason(data: Record<string, unknown> | undefined): string {
  const cause = data?.reason;
  if (typeof cause === 'string') return lookup(SHUTDOWN_REASONS, cause) ?? cause;
  return data?.guest === true ? 'guest-shutdown' : 'forced';
}

/**
 * The state change a QMP event means, or null for events that change no state. POWERDOWN only
 * says the power button was pressed (the manager shows `stopping` itself), RESET leaves the VM
 * running, and QEMU sends STOP/RESUME around most other transitions anyway. The socket reaching
 * EOF without a SHUTDOWN first is not an event at all: the manager reports that as `crashed`.
 */
export function transitionFromEvent(ev: QmpEvent): QmpTransition | null {
  switch (ev.event) {
    case 'STOP':
      return { state: 'paused', reason: null };
    case 'RESUME':
      return { state: 'running', reason: null };
    // S3 sleep and wake-up come without STOP/RESUME.
    case 'SUSPEND':
      return { state: 'paused', reason: 'suspended' };
    case 'WAKEUP':
      return { state: 'running', reason: null };
    case 'SHUTDOWN':
      return { state: 'stopped', reason: shutdownReason(ev.data) };
    case 'GUEST_PANICKED':
      return { state: 'error', reason: 'panicked' };
    default:
      return null;
  }
}

/** Own keys only: a status of `constructor` must not find Object.prototype's. */
function lookup<V>(table: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
