import type { VmState } from '../../types.js';

/**
 * VZVirtualMachineState by raw value (VZVirtualMachine.h), each with bento's state. The names match
 * DESIGN.md's ten states one to one, because bento's state model is this enum.
 */
export const VZ_STATE_TABLE: readonly { raw: number; vz: string; state: VmState }[] = [
  { raw: 0, vz: 'VZVirtualMachineStateStopped', state: 'stopped' },
  { raw: 1, vz: 'VZVirtualMachineStateRunning', state: 'running' },
  { raw: 2, vz: 'VZVirtualMachineStatePaused', state: 'paused' },
  { raw: 3, vz: 'VZVirtualMachineStateError', state: 'error' },
  { raw: 4, vz: 'VZVirtualMachineStateStarting', state: 'starting' },
  { raw: 5, vz: 'VZVirtualMachineStatePausing', state: 'pausing' },
  { raw: 6, vz: 'VZVirtualMachineStateResuming', state: 'resuming' },
  { raw: 7, vz: 'VZVirtualMachineStateStopping', state: 'stopping' }, // macOS 12+
  { raw: 8, vz: 'VZVirtualMachineStateSaving', state: 'saving' }, // macOS 14+
  { raw: 9, vz: 'VZVirtualMachineStateRestoring', state: 'restoring' }, // macOS 14+
];

/** bento's state for a raw VZVirtualMachineState; a value from a future macOS is `error`, never a guess. */
export function vmStateFromVz(raw: number): VmState {
  return VZ_STATE_TABLE.find((r) => r.raw === raw)?.state ?? 'error';
}

/** The enum constant's name for a raw value, for logs and inspect. */
export function vzStateName(raw: number): string {
  return VZ_STATE_TABLE.find((r) => r.raw === raw)?.vz ?? `VZVirtualMachineState(${raw})`;
}

/** What the helper learned about why a VM stopped. */
export interface StopFacts {
  /** guestDidStopVirtualMachine: was called. */
  guestStopped: boolean;
  /** virtualMachine:didStopWithError: was called with this message. */
  stopError: string | null;
  /** The stop came from a destructive stop bento asked for. */
  forced: boolean;
  /** The helper was told to quit by a signal. */
  signal: string | null;
}

/**
 * The reason a stopped VM carries. A delegate call says what the guest did; without one the stop was
 * ours (forced, or a signal to the helper), and a stop nobody explains is a crash.
 */
export function stopReason(f: StopFacts): string {
  if (f.stopError !== null) return `crashed: ${f.stopError}`;
  if (f.guestStopped) return 'guest-shutdown';
  if (f.forced) return 'forced';
  if (f.signal !== null) return 'host-killed';
  return 'crashed';
}
