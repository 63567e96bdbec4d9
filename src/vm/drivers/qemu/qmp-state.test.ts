import { describe, expect, it } from 'vitest';
import { VM_STATES, type VmState } from '../../types.js';
import { QUERY_STATUS_TABLE, reasonFromQueryStatus, shutdownReason, stateFromQueryStatus, transitionFromEvent } from './qmp-state.js';

// Every RunState in QEMU's qapi/run-state.json (7.2 through 9.x), with `running` as QEMU reports it.
const STATUS_CASES: [status: string, running: boolean, state: VmState, reason: string | null][] = [
  ['running', true, 'running', null],
  ['paused', false, 'paused', null],
  ['prelaunch', false, 'paused', null],
  ['suspended', false, 'paused', 'suspended'],
  ['debug', false, 'paused', null],
  ['watchdog', false, 'paused', 'watchdog'],
  ['inmigrate', false, 'restoring', null],
  ['finish-migrate', false, 'saving', null],
  ['postmigrate', false, 'paused', null],
  ['colo', false, 'paused', null],
  ['save-vm', false, 'saving', null],
  ['restore-vm', false, 'restoring', null],
  ['shutdown', false, 'stopped', null],
  ['io-error', false, 'error', 'io-error'],
  ['internal-error', false, 'error', 'internal-error'],
  ['guest-panicked', false, 'error', 'panicked'],
];

describe('stateFromQueryStatus / reasonFromQueryStatus', () => {
  it.each(STATUS_CASES)('%s (running=%s) → %s, reason %s', (status, running, state, reason) => {
    expect(stateFromQueryStatus(status, running)).toBe(state);
    expect(reasonFromQueryStatus(status)).toBe(reason);
  });

  it('covers every run state in the table, and only real VM states', () => {
    expect(Object.keys(QUERY_STATUS_TABLE).sort()).toEqual(STATUS_CASES.map(([s]) => s).sort());
    for (const { state } of Object.values(QUERY_STATUS_TABLE)) expect(VM_STATES).toContain(state);
  });

  it('falls back on the running flag for run states it does not know', () => {
    expect(stateFromQueryStatus('some-future-state', true)).toBe('running');
    expect(stateFromQueryStatus('some-future-state', false)).toBe('paused');
    expect(reasonFromQueryStatus('some-future-state')).toBeNull();
  });

  it('trusts the status over the flag for known states', () => {
    expect(stateFromQueryStatus('guest-panicked', true)).toBe('error');
    expect(stateFromQueryStatus('running', false)).toBe('running');
  });

  it('does not treat inherited object keys as run states', () => {
    expect(stateFromQueryStatus('constructor', false)).toBe('paused');
    expect(stateFromQueryStatus('toString', true)).toBe('running');
    expect(reasonFromQueryStatus('__proto__')).toBeNull();
  });
});

describe('transitionFromEvent', () => {
  const ts = { seconds: 1_700_000_000, microseconds: 1 };

  it.each([
    ['STOP', undefined, { state: 'paused', reason: null }],
    ['RESUME', undefined, { state: 'running', reason: null }],
    ['SUSPEND', undefined, { state: 'paused', reason: 'suspended' }],
    ['WAKEUP', undefined, { state: 'running', reason: null }],
    ['GUEST_PANICKED', { action: 'pause', info: { type: 'hyper-v' } }, { state: 'error', reason: 'panicked' }],
    ['GUEST_PANICKED', undefined, { state: 'error', reason: 'panicked' }],
    // The power button was pressed: no state change; the manager shows `stopping` itself.
    ['POWERDOWN', undefined, null],
    ['RESET', { guest: true, reason: 'guest-reset' }, null],
    ['RESET', { guest: false, reason: 'host-qmp-system-reset' }, null],
    ['BLOCK_IO_ERROR', { device: 'disk0', operation: 'write', action: 'stop' }, null],
    ['WATCHDOG', { action: 'pause' }, null],
    ['NIC_RX_FILTER_CHANGED', { path: '/machine/peripheral/net0' }, null],
    ['SOMETHING_NEW', undefined, null],
  ] as const)('%s %j → %j', (event, data, expected) => {
    expect(transitionFromEvent({ event, data, timestamp: ts })).toEqual(expected);
  });

  // SHUTDOWN as QEMU 4.0+ sends it: `guest` plus a ShutdownCause `reason`.
  it.each([
    [true, 'guest-shutdown', 'guest-shutdown'],
    [true, 'guest-reset', 'guest-reset'],
    [true, 'guest-panic', 'panicked'],
    [false, 'host-qmp-quit', 'forced'],
    [false, 'host-qmp-system-reset', 'forced'],
    [false, 'host-signal', 'host-killed'],
    [false, 'host-ui', 'host-killed'],
    [false, 'host-error', 'host-error'],
    [false, 'subsystem-reset', 'guest-reset'],
    [false, 'snapshot-load', 'forced'],
    [false, 'a-future-cause', 'a-future-cause'],
  ] as const)('SHUTDOWN guest=%s reason=%s → stopped, %s', (guest, reason, expected) => {
    expect(transitionFromEvent({ event: 'SHUTDOWN', data: { guest, reason }, timestamp: ts })).toEqual({ state: 'stopped', reason: expected });
  });

  it('reads SHUTDOWN without a reason (QEMU before 4.0) from `guest`', () => {
    expect(shutdownReason({ guest: true })).toBe('guest-shutdown');
    expect(shutdownReason({ guest: false })).toBe('forced');
    expect(shutdownReason(undefined)).toBe('forced');
    expect(shutdownReason({ guest: false, reason: 'constructor' })).toBe('constructor');
  });
});
