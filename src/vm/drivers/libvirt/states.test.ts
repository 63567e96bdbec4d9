import { describe, expect, it } from 'vitest';
import { VM_STATES } from '../../types.js';
import * as C from './constants.js';
import { mapDomainState, mapLifecycleEvent } from './states.js';

const S = C.VIR_DOMAIN_STATE;
const EV = C.VIR_DOMAIN_EVENT;

describe('mapDomainState', () => {
  it.each([
    // [state, reason, bento state, reason]
    [S.NOSTATE, 0, 'error', 'no-state'],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.UNKNOWN, 'running', null],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.BOOTED, 'running', null],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.MIGRATED, 'running', 'migrated'],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.RESTORED, 'running', 'restored'],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.FROM_SNAPSHOT, 'running', 'from-snapshot'],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.UNPAUSED, 'running', null],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.MIGRATION_CANCELED, 'running', 'migration-canceled'],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.SAVE_CANCELED, 'running', 'save-canceled'],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.WAKEUP, 'running', 'wakeup'],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.CRASHED, 'running', 'crashed'],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.POSTCOPY, 'running', 'postcopy'],
    [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.POSTCOPY_FAILED, 'running', 'postcopy-failed'],
    [S.BLOCKED, 0, 'running', 'blocked'],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.UNKNOWN, 'paused', null],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.USER, 'paused', 'user'],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.MIGRATION, 'paused', 'migrating'],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.SAVE, 'saving', null],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.DUMP, 'paused', 'dump'],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.IOERROR, 'paused', 'io-error'],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.WATCHDOG, 'paused', 'watchdog'],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.FROM_SNAPSHOT, 'paused', 'from-snapshot'],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.SHUTTING_DOWN, 'stopping', null],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.SNAPSHOT, 'saving', 'snapshot'],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.CRASHED, 'error', 'panicked'],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.STARTING_UP, 'starting', null],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.POSTCOPY, 'paused', 'postcopy'],
    [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.POSTCOPY_FAILED, 'paused', 'postcopy-failed'],
    [S.SHUTDOWN, C.VIR_DOMAIN_SHUTDOWN_REASON.UNKNOWN, 'stopping', null],
    [S.SHUTDOWN, C.VIR_DOMAIN_SHUTDOWN_REASON.USER, 'stopping', 'user'],
    [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.UNKNOWN, 'stopped', null],
    [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.SHUTDOWN, 'stopped', 'guest-shutdown'],
    [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.DESTROYED, 'stopped', 'forced'],
    [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.CRASHED, 'stopped', 'crashed'],
    [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.MIGRATED, 'stopped', 'migrated'],
    [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.SAVED, 'stopped', 'saved'],
    [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.FAILED, 'stopped', 'start-failed'],
    [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.FROM_SNAPSHOT, 'stopped', 'from-snapshot'],
    [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.DAEMON, 'stopped', 'host-killed'],
    [S.CRASHED, C.VIR_DOMAIN_CRASHED_REASON.UNKNOWN, 'error', 'crashed'],
    [S.CRASHED, C.VIR_DOMAIN_CRASHED_REASON.PANICKED, 'error', 'panicked'],
    [S.PMSUSPENDED, 0, 'paused', 'pm-suspended'],
  ] as const)('state %i reason %i -> %s (%s)', (state, reason, bento, why) => {
    expect(mapDomainState(state, reason)).toEqual({ state: bento, reason: why });
  });

  it('covers every reason of every state in constants.ts with a named reason or null, never a number', () => {
    const reasons: [number, Readonly<Record<string, number>>][] = [
      [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON],
      [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON],
      [S.SHUTDOWN, C.VIR_DOMAIN_SHUTDOWN_REASON],
      [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON],
      [S.CRASHED, C.VIR_DOMAIN_CRASHED_REASON],
    ];
    for (const [state, table] of reasons) {
      for (const [key, reason] of Object.entries(table)) {
        const r = mapDomainState(state, reason);
        expect(VM_STATES, key).toContain(r.state);
        expect(r.reason ?? '', `${state}/${key}`).not.toMatch(/\d/);
      }
    }
  });

  it.each([
    // An unknown reason keeps its state's meaning and names the number.
    [S.RUNNING, 12, 'running', 'running-reason-12'],
    [S.PAUSED, 14, 'paused', 'paused-reason-14'],
    [S.SHUTDOWN, 2, 'stopping', 'shutdown-reason-2'],
    [S.SHUTOFF, 9, 'stopped', 'shutoff-reason-9'],
    [S.CRASHED, 2, 'error', 'crashed-reason-2'],
    [S.PAUSED, -1, 'paused', 'paused-reason--1'],
    // An unknown state is an error the user must look at, never a guess.
    [8, 0, 'error', 'libvirt-state-8-reason-0'],
    [-1, 3, 'error', 'libvirt-state--1-reason-3'],
    [1.5, 0, 'error', 'libvirt-state-1.5-reason-0'],
    [Number.NaN, 0, 'error', 'libvirt-state-NaN-reason-0'],
  ])('unknown numbers: state %s reason %s -> %s (%s)', (state, reason, bento, why) => {
    expect(mapDomainState(state, reason)).toEqual({ state: bento, reason: why });
  });

  it('does not find Object.prototype members by number-like keys', () => {
    expect(mapDomainState(S.PAUSED, 'constructor' as unknown as number)).toEqual({ state: 'paused', reason: 'paused-reason-constructor' });
  });

  it('returns a fresh object each time (callers may keep and change it)', () => {
    const a = mapDomainState(S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.USER);
    a.reason = 'changed';
    expect(mapDomainState(S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.USER).reason).toBe('user');
  });
});

describe('mapLifecycleEvent', () => {
  it.each([
    [EV.STARTED, C.VIR_DOMAIN_EVENT_STARTED.BOOTED, 'running', null],
    [EV.STARTED, C.VIR_DOMAIN_EVENT_STARTED.MIGRATED, 'running', 'migrated'],
    [EV.STARTED, C.VIR_DOMAIN_EVENT_STARTED.RESTORED, 'running', 'restored'],
    [EV.STARTED, C.VIR_DOMAIN_EVENT_STARTED.FROM_SNAPSHOT, 'running', 'from-snapshot'],
    [EV.STARTED, C.VIR_DOMAIN_EVENT_STARTED.WAKEUP, 'running', 'wakeup'],
    [EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.PAUSED, 'paused', 'user'],
    [EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.MIGRATED, 'paused', 'migrating'],
    [EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.IOERROR, 'paused', 'io-error'],
    [EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.WATCHDOG, 'paused', 'watchdog'],
    [EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.RESTORED, 'paused', 'restored'],
    [EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.FROM_SNAPSHOT, 'paused', 'from-snapshot'],
    [EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.API_ERROR, 'paused', 'api-error'],
    [EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.POSTCOPY, 'paused', 'postcopy'],
    [EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.POSTCOPY_FAILED, 'paused', 'postcopy-failed'],
    [EV.RESUMED, C.VIR_DOMAIN_EVENT_RESUMED.UNPAUSED, 'running', null],
    [EV.RESUMED, C.VIR_DOMAIN_EVENT_RESUMED.MIGRATED, 'running', 'migrated'],
    [EV.RESUMED, C.VIR_DOMAIN_EVENT_RESUMED.FROM_SNAPSHOT, 'running', 'from-snapshot'],
    [EV.RESUMED, C.VIR_DOMAIN_EVENT_RESUMED.POSTCOPY, 'running', 'postcopy'],
    [EV.RESUMED, C.VIR_DOMAIN_EVENT_RESUMED.POSTCOPY_FAILED, 'running', 'postcopy-failed'],
    [EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.SHUTDOWN, 'stopped', 'guest-shutdown'],
    [EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.DESTROYED, 'stopped', 'forced'],
    [EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.CRASHED, 'stopped', 'crashed'],
    [EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.MIGRATED, 'stopped', 'migrated'],
    [EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.SAVED, 'stopped', 'saved'],
    // qemu died without a SHUTDOWN (kill -9, a crash), or a start failed: see states.ts.
    [EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.FAILED, 'stopped', 'crashed'],
    [EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.FROM_SNAPSHOT, 'stopped', 'from-snapshot'],
    [EV.SHUTDOWN, C.VIR_DOMAIN_EVENT_SHUTDOWN.FINISHED, 'stopping', null],
    [EV.SHUTDOWN, C.VIR_DOMAIN_EVENT_SHUTDOWN.GUEST, 'stopping', 'guest-shutdown'],
    [EV.SHUTDOWN, C.VIR_DOMAIN_EVENT_SHUTDOWN.HOST, 'stopping', 'host-request'],
    [EV.PMSUSPENDED, C.VIR_DOMAIN_EVENT_PMSUSPENDED.MEMORY, 'paused', 'pm-suspended'],
    [EV.PMSUSPENDED, C.VIR_DOMAIN_EVENT_PMSUSPENDED.DISK, 'paused', 'pm-suspended-disk'],
    [EV.CRASHED, C.VIR_DOMAIN_EVENT_CRASHED.PANICKED, 'error', 'panicked'],
    [EV.CRASHED, C.VIR_DOMAIN_EVENT_CRASHED.CRASHLOADED, 'error', 'crash-loaded'],
  ] as const)('event %i detail %i -> %s (%s)', (event, detail, state, reason) => {
    expect(mapLifecycleEvent(event, detail)).toEqual({ kind: 'state', state, reason });
  });

  it.each([
    [C.VIR_DOMAIN_EVENT_DEFINED.ADDED, 'added'],
    [C.VIR_DOMAIN_EVENT_DEFINED.UPDATED, 'updated'],
    [C.VIR_DOMAIN_EVENT_DEFINED.RENAMED, 'renamed'],
    [C.VIR_DOMAIN_EVENT_DEFINED.FROM_SNAPSHOT, 'from-snapshot'],
    [7, 'defined-detail-7'],
  ])('DEFINED detail %i is a definition (%s)', (detail, reason) => {
    expect(mapLifecycleEvent(EV.DEFINED, detail)).toEqual({ kind: 'defined', reason });
  });

  it.each([C.VIR_DOMAIN_EVENT_UNDEFINED.REMOVED, C.VIR_DOMAIN_EVENT_UNDEFINED.RENAMED, 5])('UNDEFINED detail %i removes the domain', (detail) => {
    expect(mapLifecycleEvent(EV.UNDEFINED, detail)).toEqual({ kind: 'undefined' });
  });

  it.each([
    // An unknown detail keeps the event's meaning and names the number.
    [EV.STARTED, 9, 'running', 'started-detail-9'],
    [EV.SUSPENDED, 9, 'paused', 'suspended-detail-9'],
    [EV.RESUMED, 9, 'running', 'resumed-detail-9'],
    [EV.STOPPED, 9, 'stopped', 'stopped-detail-9'],
    [EV.SHUTDOWN, 9, 'stopping', 'shutdown-detail-9'],
    [EV.PMSUSPENDED, 9, 'paused', 'pmsuspended-detail-9'],
    [EV.CRASHED, 9, 'error', 'crashed-detail-9'],
    // An unknown event (a newer libvirt): an error with both numbers until the lookup confirms.
    [9, 0, 'error', 'libvirt-event-9-detail-0'],
    [-1, 2, 'error', 'libvirt-event--1-detail-2'],
  ])('unknown numbers: event %i detail %i -> %s (%s)', (event, detail, state, reason) => {
    expect(mapLifecycleEvent(event, detail)).toEqual({ kind: 'state', state, reason });
  });

  it("agrees with the state lookup that confirms it: each event's reason is the one virDomainGetState then reports", () => {
    const pairs: [[number, number], [number, number]][] = [
      [[EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.PAUSED], [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.USER]],
      [[EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.IOERROR], [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.IOERROR]],
      [[EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.WATCHDOG], [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.WATCHDOG]],
      [[EV.SUSPENDED, C.VIR_DOMAIN_EVENT_SUSPENDED.MIGRATED], [S.PAUSED, C.VIR_DOMAIN_PAUSED_REASON.MIGRATION]],
      [[EV.RESUMED, C.VIR_DOMAIN_EVENT_RESUMED.UNPAUSED], [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.UNPAUSED]],
      [[EV.STARTED, C.VIR_DOMAIN_EVENT_STARTED.BOOTED], [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.BOOTED]],
      [[EV.STARTED, C.VIR_DOMAIN_EVENT_STARTED.RESTORED], [S.RUNNING, C.VIR_DOMAIN_RUNNING_REASON.RESTORED]],
      [[EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.SHUTDOWN], [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.SHUTDOWN]],
      [[EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.DESTROYED], [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.DESTROYED]],
      [[EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.CRASHED], [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.CRASHED]],
      // libvirt's qemu driver: EOF without SHUTDOWN sends STOPPED_FAILED and records SHUTOFF_CRASHED.
      [[EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.FAILED], [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.CRASHED]],
      [[EV.STOPPED, C.VIR_DOMAIN_EVENT_STOPPED.SAVED], [S.SHUTOFF, C.VIR_DOMAIN_SHUTOFF_REASON.SAVED]],
      [[EV.PMSUSPENDED, C.VIR_DOMAIN_EVENT_PMSUSPENDED.MEMORY], [S.PMSUSPENDED, 0]],
      [[EV.CRASHED, C.VIR_DOMAIN_EVENT_CRASHED.PANICKED], [S.CRASHED, C.VIR_DOMAIN_CRASHED_REASON.PANICKED]],
    ];
    for (const [[event, detail], [state, reason]] of pairs) {
      const ev = mapLifecycleEvent(event, detail);
      expect(ev, `event ${event}/${detail}`).toEqual({ kind: 'state', ...mapDomainState(state, reason) });
    }
  });
});
