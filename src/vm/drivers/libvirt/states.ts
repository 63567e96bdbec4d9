import type { VmState } from '../../types.js';
import {
  VIR_DOMAIN_CRASHED_REASON as CRASHED_R,
  VIR_DOMAIN_EVENT as EV,
  VIR_DOMAIN_EVENT_CRASHED as EV_CRASHED,
  VIR_DOMAIN_EVENT_DEFINED as EV_DEFINED,
  VIR_DOMAIN_EVENT_PMSUSPENDED as EV_PMSUSPENDED,
  VIR_DOMAIN_EVENT_RESUMED as EV_RESUMED,
  VIR_DOMAIN_EVENT_SHUTDOWN as EV_SHUTDOWN,
  VIR_DOMAIN_EVENT_STARTED as EV_STARTED,
  VIR_DOMAIN_EVENT_STOPPED as EV_STOPPED,
  VIR_DOMAIN_EVENT_SUSPENDED as EV_SUSPENDED,
  VIR_DOMAIN_PAUSED_REASON as PAUSED_R,
  VIR_DOMAIN_RUNNING_REASON as RUNNING_R,
  VIR_DOMAIN_SHUTDOWN_REASON as SHUTDOWN_R,
  VIR_DOMAIN_SHUTOFF_REASON as SHUTOFF_R,
  VIR_DOMAIN_STATE as S,
} from './constants.js';

/** A bento state plus the reason that goes with it. */
export interface MappedState {
  state: VmState;
  reason: string | null;
}

/** A lifecycle event (event, detail) as what it means for the VM: a state to show, or that the domain was defined/undefined. */
export type LifecycleMeaning =
  | { kind: 'state'; state: VmState; reason: string | null }
  /** DEFINED: a new or updated persistent definition (reason: added, updated, renamed, from-snapshot). */
  | { kind: 'defined'; reason: string | null }
  /** UNDEFINED (also the old name's half of a rename: a DEFINED with detail RENAMED follows). */
  | { kind: 'undefined' };

type Table = Readonly<Record<number, MappedState>>;

const m = (state: VmState, reason: string | null = null): MappedState => ({ state, reason });

/**
 * virDomainGetState's reason per state. Reasons a user did nothing special for (booted, unpaused)
 * are null, as for local VMs; the others are bento's words where they exist (guest-shutdown, forced,
 * crashed, panicked, start-failed, host-killed) and libvirt's own as short kebab words.
 */
const RUNNING: Table = {
  [RUNNING_R.UNKNOWN]: m('running'),
  [RUNNING_R.BOOTED]: m('running'),
  [RUNNING_R.MIGRATED]: m('running', 'migrated'),
  [RUNNING_R.RESTORED]: m('running', 'restored'),
  [RUNNING_R.FROM_SNAPSHOT]: m('running', 'from-snapshot'),
  [RUNNING_R.UNPAUSED]: m('running'),
  [RUNNING_R.MIGRATION_CANCELED]: m('running', 'migration-canceled'),
  [RUNNING_R.SAVE_CANCELED]: m('running', 'save-canceled'),
  [RUNNING_R.WAKEUP]: m('running', 'wakeup'),
  [RUNNING_R.CRASHED]: m('running', 'crashed'),
  [RUNNING_R.POSTCOPY]: m('running', 'postcopy'),
  [RUNNING_R.POSTCOPY_FAILED]: m('running', 'postcopy-failed'),
};

/**
 * A paused domain is `paused` when a resume brings it back; the pauses that are really another
 * step (being saved, starting up, shutting down) get that step's state, and a pause after a guest
 * crash (on_crash preserve) is an error the user must look at, as GUEST_PANICKED is for local VMs.
 * An I/O error pause stays `paused`: libvirt resumes it once the disk is fixed.
 */
const PAUSED: Table = {
  [PAUSED_R.UNKNOWN]: m('paused'),
  [PAUSED_R.USER]: m('paused', 'user'),
  [PAUSED_R.MIGRATION]: m('paused', 'migrating'),
  [PAUSED_R.SAVE]: m('saving'),
  [PAUSED_R.DUMP]: m('paused', 'dump'),
  [PAUSED_R.IOERROR]: m('paused', 'io-error'),
  [PAUSED_R.WATCHDOG]: m('paused', 'watchdog'),
  [PAUSED_R.FROM_SNAPSHOT]: m('paused', 'from-snapshot'),
  [PAUSED_R.SHUTTING_DOWN]: m('stopping'),
  [PAUSED_R.SNAPSHOT]: m('saving', 'snapshot'),
  [PAUSED_R.CRASHED]: m('error', 'panicked'),
  [PAUSED_R.STARTING_UP]: m('starting'),
  [PAUSED_R.POSTCOPY]: m('paused', 'postcopy'),
  [PAUSED_R.POSTCOPY_FAILED]: m('paused', 'postcopy-failed'),
};

const SHUTDOWN: Table = {
  [SHUTDOWN_R.UNKNOWN]: m('stopping'),
  [SHUTDOWN_R.USER]: m('stopping', 'user'),
};

/**
 * SHUTOFF_CRASHED is what libvirt records when qemu went away without a SHUTDOWN first (killed, or
 * died): bento calls that `crashed` for local VMs too. DAEMON: libvirtd killed it while reconnecting.
 */
const SHUTOFF: Table = {
  [SHUTOFF_R.UNKNOWN]: m('stopped'),
  [SHUTOFF_R.SHUTDOWN]: m('stopped', 'guest-shutdown'),
  [SHUTOFF_R.DESTROYED]: m('stopped', 'forced'),
  [SHUTOFF_R.CRASHED]: m('stopped', 'crashed'),
  [SHUTOFF_R.MIGRATED]: m('stopped', 'migrated'),
  [SHUTOFF_R.SAVED]: m('stopped', 'saved'),
  [SHUTOFF_R.FAILED]: m('stopped', 'start-failed'),
  [SHUTOFF_R.FROM_SNAPSHOT]: m('stopped', 'from-snapshot'),
  [SHUTOFF_R.DAEMON]: m('stopped', 'host-killed'),
};

const CRASHED: Table = {
  [CRASHED_R.UNKNOWN]: m('error', 'crashed'),
  [CRASHED_R.PANICKED]: m('error', 'panicked'),
};

/** Per state: its reason table and what an unknown (newer) reason of it means. */
const STATES: Readonly<Record<number, { name: string; table: Table; fallback: VmState }>> = {
  // libvirt does not know the state (a driver that cannot tell): the user has to look.
  [S.NOSTATE]: { name: 'nostate', table: {}, fallback: 'error' },
  [S.RUNNING]: { name: 'running', table: RUNNING, fallback: 'running' },
  // Running, but its vCPUs wait on a resource (Xen and some other drivers; qemu never reports it).
  [S.BLOCKED]: { name: 'blocked', table: {}, fallback: 'running' },
  [S.PAUSED]: { name: 'paused', table: PAUSED, fallback: 'paused' },
  [S.SHUTDOWN]: { name: 'shutdown', table: SHUTDOWN, fallback: 'stopping' },
  [S.SHUTOFF]: { name: 'shutoff', table: SHUTOFF, fallback: 'stopped' },
  [S.CRASHED]: { name: 'crashed', table: CRASHED, fallback: 'error' },
  // Guest power management sleep (S3/S4): a wake-up brings it back, like a pause.
  [S.PMSUSPENDED]: { name: 'pmsuspended', table: {}, fallback: 'paused' },
};

/** Fixed reasons for states whose reason numbers carry nothing (only UNKNOWN exists). */
const STATE_REASON: Readonly<Record<number, string>> = {
  [S.NOSTATE]: 'no-state',
  [S.BLOCKED]: 'blocked',
  [S.PMSUSPENDED]: 'pm-suspended',
};

/**
 * A domain's virDomainGetState (state, reason) on bento's ten states plus a reason string. Numbers
 * from a newer libvirt never throw: an unknown reason keeps its state's meaning with a reason naming
 * the number (`paused-reason-14`); an unknown state is `error` (`libvirt-state-9-reason-0`), never a guess.
 */
export function mapDomainState(state: number, reason: number): MappedState {
  const entry = own(STATES, state);
  if (!entry) return m('error', `libvirt-state-${state}-reason-${reason}`);
  const fixed = own(STATE_REASON, state);
  if (fixed !== undefined) return m(entry.fallback, fixed);
  const hit = own(entry.table, reason);
  return hit ? { ...hit } : m(entry.fallback, `${entry.name}-reason-${reason}`);
}

const DEFINED_REASON: Readonly<Record<number, string>> = {
  [EV_DEFINED.ADDED]: 'added',
  [EV_DEFINED.UPDATED]: 'updated',
  [EV_DEFINED.RENAMED]: 'renamed',
  [EV_DEFINED.FROM_SNAPSHOT]: 'from-snapshot',
};

const STARTED: Table = {
  [EV_STARTED.BOOTED]: m('running'),
  [EV_STARTED.MIGRATED]: m('running', 'migrated'),
  [EV_STARTED.RESTORED]: m('running', 'restored'),
  [EV_STARTED.FROM_SNAPSHOT]: m('running', 'from-snapshot'),
  [EV_STARTED.WAKEUP]: m('running', 'wakeup'),
};

/** SUSPENDED details, worded as the matching PAUSED state reasons so the confirming lookup agrees. */
const SUSPENDED: Table = {
  [EV_SUSPENDED.PAUSED]: m('paused', 'user'),
  [EV_SUSPENDED.MIGRATED]: m('paused', 'migrating'),
  [EV_SUSPENDED.IOERROR]: m('paused', 'io-error'),
  [EV_SUSPENDED.WATCHDOG]: m('paused', 'watchdog'),
  [EV_SUSPENDED.RESTORED]: m('paused', 'restored'),
  [EV_SUSPENDED.FROM_SNAPSHOT]: m('paused', 'from-snapshot'),
  [EV_SUSPENDED.API_ERROR]: m('paused', 'api-error'),
  [EV_SUSPENDED.POSTCOPY]: m('paused', 'postcopy'),
  [EV_SUSPENDED.POSTCOPY_FAILED]: m('paused', 'postcopy-failed'),
};

const RESUMED: Table = {
  [EV_RESUMED.UNPAUSED]: m('running'),
  [EV_RESUMED.MIGRATED]: m('running', 'migrated'),
  [EV_RESUMED.FROM_SNAPSHOT]: m('running', 'from-snapshot'),
  [EV_RESUMED.POSTCOPY]: m('running', 'postcopy'),
  [EV_RESUMED.POSTCOPY_FAILED]: m('running', 'postcopy-failed'),
};

/**
 * STOPPED details. FAILED ("host emulator failed") is what libvirt's qemu driver sends both when the
 * qemu process died without a SHUTDOWN (killed, crashed: the state reason is then SHUTOFF_CRASHED)
 * and when a start failed (SHUTOFF_FAILED, and the start call itself returns the error). The first is
 * the one a user sees as an event, so it reads `crashed`, as local VMs say; the lookup that confirms
 * every event refines it to `start-failed` when the state reason says so.
 */
const STOPPED: Table = {
  [EV_STOPPED.SHUTDOWN]: m('stopped', 'guest-shutdown'),
  [EV_STOPPED.DESTROYED]: m('stopped', 'forced'),
  [EV_STOPPED.CRASHED]: m('stopped', 'crashed'),
  [EV_STOPPED.MIGRATED]: m('stopped', 'migrated'),
  [EV_STOPPED.SAVED]: m('stopped', 'saved'),
  [EV_STOPPED.FAILED]: m('stopped', 'crashed'),
  [EV_STOPPED.FROM_SNAPSHOT]: m('stopped', 'from-snapshot'),
};

/** SHUTDOWN: the guest finished shutting down (qemu's SHUTDOWN); STOPPED follows once qemu has exited. */
const SHUTDOWN_EV: Table = {
  [EV_SHUTDOWN.FINISHED]: m('stopping'),
  [EV_SHUTDOWN.GUEST]: m('stopping', 'guest-shutdown'),
  // Asked by the host: a virDomainShutdown/Destroy or a signal to qemu; STOPPED says which.
  [EV_SHUTDOWN.HOST]: m('stopping', 'host-request'),
};

const PMSUSPENDED: Table = {
  [EV_PMSUSPENDED.MEMORY]: m('paused', 'pm-suspended'),
  [EV_PMSUSPENDED.DISK]: m('paused', 'pm-suspended-disk'),
};

/** CRASHED: a guest panic (pvpanic/hyperv crash); on_crash decides what follows (bento's XML: destroy). */
const CRASHED_EV: Table = {
  [EV_CRASHED.PANICKED]: m('error', 'panicked'),
  // The guest crashed and loaded its crash kernel (kdump); it keeps running that.
  [EV_CRASHED.CRASHLOADED]: m('error', 'crash-loaded'),
};

const EVENTS: Readonly<Record<number, { name: string; table: Table; fallback: VmState }>> = {
  [EV.STARTED]: { name: 'started', table: STARTED, fallback: 'running' },
  [EV.SUSPENDED]: { name: 'suspended', table: SUSPENDED, fallback: 'paused' },
  [EV.RESUMED]: { name: 'resumed', table: RESUMED, fallback: 'running' },
  [EV.STOPPED]: { name: 'stopped', table: STOPPED, fallback: 'stopped' },
  [EV.SHUTDOWN]: { name: 'shutdown', table: SHUTDOWN_EV, fallback: 'stopping' },
  [EV.PMSUSPENDED]: { name: 'pmsuspended', table: PMSUSPENDED, fallback: 'paused' },
  [EV.CRASHED]: { name: 'crashed', table: CRASHED_EV, fallback: 'error' },
};

/**
 * A lifecycle event (event, detail) as what it means for the VM. Never throws: an unknown detail of a
 * known event keeps the event's meaning with a reason naming it (`stopped-detail-9`); an unknown event
 * (a newer libvirt) is `error` with `libvirt-event-12-detail-0` until the confirming lookup replaces it.
 */
export function mapLifecycleEvent(event: number, detail: number): LifecycleMeaning {
  if (event === EV.DEFINED) return { kind: 'defined', reason: own(DEFINED_REASON, detail) ?? `defined-detail-${detail}` };
  if (event === EV.UNDEFINED) return { kind: 'undefined' };
  const entry = own(EVENTS, event);
  if (!entry) return { kind: 'state', state: 'error', reason: `libvirt-event-${event}-detail-${detail}` };
  const hit = own(entry.table, detail) ?? m(entry.fallback, `${entry.name}-detail-${detail}`);
  return { kind: 'state', state: hit.state, reason: hit.reason };
}

/** Own keys only: a number never finds Object.prototype's members, and a fractional one finds nothing. */
function own<V>(table: Readonly<Record<number, V>>, key: number): V | undefined {
  return Number.isInteger(key) && Object.hasOwn(table, key) ? table[key] : undefined;
}
