import type { VmState } from '../../types.js';
import type { QmpEvent } from './qmp.js';

/** query-status run states and the bento state each means. */
const STATUS_TABLE: Record<string, VmState> = {
  running: 'running',
  paused: 'paused',
  prelaunch: 'paused',
  suspended: 'paused',
  debug: 'paused',
  inmigrate: 'paused',
  postmigrate: 'paused',
  'finish-migrate': 'paused',
  colo: 'paused',
  watchdog: 'paused',
  'save-vm': 'saving',
  'restore-vm': 'restoring',
  shutdown: 'stopped',
  'io-error': 'error',
  'internal-error': 'error',
  'guest-panicked': 'error',
};

/** The bento state for a query-status answer. */
export function stateFromQueryStatus(status: string, running: boolean): VmState {
  return STATUS_TABLE[status] ?? (running ? 'running' : 'paused');
}

/** The reason that goes with a query-status answer, where one applies. */
export function reasonFromQueryStatus(status: string): string | null {
  return { 'guest-panicked': 'panicked', 'io-error': 'io-error', 'internal-error': 'internal-error' }[status] ?? null;
}

/** SHUTDOWN reasons and the bento reason each gives. */
const SHUTDOWN_REASONS: Record<string, string> = {
  'guest-shutdown': 'guest-shutdown',
  'guest-reset': 'guest-reset',
  'guest-panic': 'panicked',
  'host-qmp-quit': 'forced',
  'host-qmp-system-reset': 'forced',
  'host-signal': 'host-killed',
  'host-ui': 'host-killed',
  'subsystem-reset': 'guest-reset',
  'snapshot-load': 'forced',
};

/**
 * The state change a QMP event means, or null for events that change no state (POWERDOWN only says
 * the button was pressed; RESET keeps the VM running). A socket EOF without SHUTDOWN is not an
 * event: the driver reports it as `crashed`.
 */
export function transitionFromEvent(ev: QmpEvent): { state: VmState; reason: string | null } | null {
  switch (ev.event) {
    case 'STOP':
      return { state: 'paused', reason: null };
    case 'RESUME':
      return { state: 'running', reason: null };
    case 'SHUTDOWN': {
      const reason = typeof ev.data?.reason === 'string' ? ev.data.reason : ev.data?.guest ? 'guest-shutdown' : 'host-qmp-quit';
      return { state: 'stopped', reason: SHUTDOWN_REASONS[reason] ?? reason };
    }
    case 'GUEST_PANICKED':
      return { state: 'error', reason: 'panicked' };
    default:
      return null;
  }
}
