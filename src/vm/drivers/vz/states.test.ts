import { describe, expect, it } from 'vitest';
import { VM_STATES } from '../../types.js';
import { VZ_STATE_TABLE, stopReason, vmStateFromVz, vzStateName } from './states.js';

describe('VZVirtualMachineState mapping', () => {
  it('maps the ten raw values of VZVirtualMachine.h to the ten states, one to one', () => {
    expect(VZ_STATE_TABLE.map((r) => [r.raw, vmStateFromVz(r.raw)])).toEqual([
      [0, 'stopped'],
      [1, 'running'],
      [2, 'paused'],
      [3, 'error'],
      [4, 'starting'],
      [5, 'pausing'],
      [6, 'resuming'],
      [7, 'stopping'],
      [8, 'saving'],
      [9, 'restoring'],
    ]);
    expect(new Set(VZ_STATE_TABLE.map((r) => r.state))).toEqual(new Set(VM_STATES));
  });

  it('names each raw value after its enum constant', () => {
    expect(vzStateName(0)).toBe('VZVirtualMachineStateStopped');
    expect(vzStateName(9)).toBe('VZVirtualMachineStateRestoring');
  });

  it('treats a value from a future macOS as error rather than guessing', () => {
    expect(vmStateFromVz(10)).toBe('error');
    expect(vmStateFromVz(-1)).toBe('error');
    expect(vzStateName(42)).toBe('VZVirtualMachineState(42)');
  });
});

describe('stopReason', () => {
  const none = { guestStopped: false, stopError: null, forced: false, signal: null };
  it.each([
    [{ ...none, guestStopped: true }, 'guest-shutdown'],
    [{ ...none, stopError: 'boom [VZErrorDomain 1]' }, 'crashed: boom [VZErrorDomain 1]'],
    [{ ...none, guestStopped: true, stopError: 'boom' }, 'crashed: boom'],
    [{ ...none, forced: true }, 'forced'],
    [{ ...none, forced: true, guestStopped: true }, 'guest-shutdown'],
    [{ ...none, signal: 'SIGTERM' }, 'host-killed'],
    [none, 'crashed'],
  ])('%j -> %s', (facts, reason) => {
    expect(stopReason(facts)).toBe(reason);
  });
});
