// PLACEHOLDER of helper C2 so the engine compiles: helper C1's states.ts (the real table of states,
// reasons and events) replaces this file at merge. Only the obvious rows, no reasons.
import type { VmState } from '../../types.js';
import { VIR_DOMAIN_EVENT, VIR_DOMAIN_STATE } from './constants.js';

/** A virDomainState and its reason number as one of the ten states. */
export function mapDomainState(state: number, _reason: number): { state: VmState; reason: string | null } {
  switch (state) {
    case VIR_DOMAIN_STATE.RUNNING:
    case VIR_DOMAIN_STATE.BLOCKED:
      return { state: 'running', reason: null };
    case VIR_DOMAIN_STATE.PAUSED:
    case VIR_DOMAIN_STATE.PMSUSPENDED:
      return { state: 'paused', reason: null };
    case VIR_DOMAIN_STATE.SHUTDOWN:
      return { state: 'stopping', reason: null };
    case VIR_DOMAIN_STATE.CRASHED:
      return { state: 'error', reason: 'crashed' };
    default:
      return { state: 'stopped', reason: null };
  }
}

/** What a lifecycle event means for bento. */
export type LifecycleMeaning = { kind: 'state'; state: VmState; reason: string | null } | { kind: 'defined'; reason: string | null } | { kind: 'undefined' };

/** A lifecycle event (event, detail) as a state change, a (re)definition or an undefine. */
export function mapLifecycleEvent(event: number, _detail: number): LifecycleMeaning {
  switch (event) {
    case VIR_DOMAIN_EVENT.DEFINED:
      return { kind: 'defined', reason: null };
    case VIR_DOMAIN_EVENT.UNDEFINED:
      return { kind: 'undefined' };
    case VIR_DOMAIN_EVENT.STARTED:
    case VIR_DOMAIN_EVENT.RESUMED:
      return { kind: 'state', state: 'running', reason: null };
    case VIR_DOMAIN_EVENT.SUSPENDED:
    case VIR_DOMAIN_EVENT.PMSUSPENDED:
      return { kind: 'state', state: 'paused', reason: null };
    case VIR_DOMAIN_EVENT.SHUTDOWN:
      return { kind: 'state', state: 'stopping', reason: null };
    case VIR_DOMAIN_EVENT.CRASHED:
      return { kind: 'state', state: 'error', reason: 'crashed' };
    default:
      return { kind: 'state', state: 'stopped', reason: null };
  }
}
