// PLACEHOLDER of helper C2 so the engine compiles: helper C1's constants.ts (from libvirt's headers)
// replaces this file at merge.

/** virDomainState. */
export const VIR_DOMAIN_STATE = { NOSTATE: 0, RUNNING: 1, BLOCKED: 2, PAUSED: 3, SHUTDOWN: 4, SHUTOFF: 5, CRASHED: 6, PMSUSPENDED: 7 } as const;

/** virDomainEventType. */
export const VIR_DOMAIN_EVENT = { DEFINED: 0, UNDEFINED: 1, STARTED: 2, SUSPENDED: 3, RESUMED: 4, STOPPED: 5, SHUTDOWN: 6, PMSUSPENDED: 7, CRASHED: 8 } as const;
