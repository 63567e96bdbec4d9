/**
 * Numbers of libvirt's C API that bento's TypeScript side needs, copied from libvirt 9.0's headers
 * (/usr/include/libvirt/libvirt-domain.h, libvirt-common.h, virterror.h) and named as there without
 * the enum's prefix: VIR_DOMAIN_PAUSED_IOERROR is VIR_DOMAIN_PAUSED_REASON.IOERROR. constants.test.ts
 * checks every value against the installed headers. These are stable ABI: libvirt only ever appends.
 */

/** The XML namespace of bento's <metadata> element in a domain's XML (the spec as JSON lives there). */
export const BENTO_XMLNS = 'urn:bento:vm:1';
/** The prefix bento's metadata element is written with (libvirt keeps it in the XML, drops it from virDomainGetMetadata). */
export const BENTO_XMLNS_PREFIX = 'bento';

/** virDomainState: what virDomainGetState returns as `state`. */
export const VIR_DOMAIN_STATE = { NOSTATE: 0, RUNNING: 1, BLOCKED: 2, PAUSED: 3, SHUTDOWN: 4, SHUTOFF: 5, CRASHED: 6, PMSUSPENDED: 7 } as const;

/** virDomainNostateReason. */
export const VIR_DOMAIN_NOSTATE_REASON = { UNKNOWN: 0 } as const;

/** virDomainRunningReason (VIR_DOMAIN_RUNNING_*). */
export const VIR_DOMAIN_RUNNING_REASON = {
  UNKNOWN: 0,
  BOOTED: 1,
  MIGRATED: 2,
  RESTORED: 3,
  FROM_SNAPSHOT: 4,
  UNPAUSED: 5,
  MIGRATION_CANCELED: 6,
  SAVE_CANCELED: 7,
  WAKEUP: 8,
  CRASHED: 9,
  POSTCOPY: 10,
  POSTCOPY_FAILED: 11,
} as const;

/** virDomainBlockedReason. */
export const VIR_DOMAIN_BLOCKED_REASON = { UNKNOWN: 0 } as const;

/** virDomainPausedReason (VIR_DOMAIN_PAUSED_*). */
export const VIR_DOMAIN_PAUSED_REASON = {
  UNKNOWN: 0,
  USER: 1,
  MIGRATION: 2,
  SAVE: 3,
  DUMP: 4,
  IOERROR: 5,
  WATCHDOG: 6,
  FROM_SNAPSHOT: 7,
  SHUTTING_DOWN: 8,
  SNAPSHOT: 9,
  CRASHED: 10,
  STARTING_UP: 11,
  POSTCOPY: 12,
  POSTCOPY_FAILED: 13,
} as const;

/** virDomainShutdownReason (VIR_DOMAIN_SHUTDOWN_*). */
export const VIR_DOMAIN_SHUTDOWN_REASON = { UNKNOWN: 0, USER: 1 } as const;

/** virDomainShutoffReason (VIR_DOMAIN_SHUTOFF_*). */
export const VIR_DOMAIN_SHUTOFF_REASON = {
  UNKNOWN: 0,
  SHUTDOWN: 1,
  DESTROYED: 2,
  CRASHED: 3,
  MIGRATED: 4,
  SAVED: 5,
  FAILED: 6,
  FROM_SNAPSHOT: 7,
  DAEMON: 8,
} as const;

/** virDomainCrashedReason (VIR_DOMAIN_CRASHED_*). */
export const VIR_DOMAIN_CRASHED_REASON = { UNKNOWN: 0, PANICKED: 1 } as const;

/** virDomainPMSuspendedReason (VIR_DOMAIN_PMSUSPENDED_*). */
export const VIR_DOMAIN_PMSUSPENDED_REASON = { UNKNOWN: 0 } as const;

/** virDomainEventType: the `event` of a VIR_DOMAIN_EVENT_ID_LIFECYCLE callback. */
export const VIR_DOMAIN_EVENT = {
  DEFINED: 0,
  UNDEFINED: 1,
  STARTED: 2,
  SUSPENDED: 3,
  RESUMED: 4,
  STOPPED: 5,
  SHUTDOWN: 6,
  PMSUSPENDED: 7,
  CRASHED: 8,
} as const;

/** virDomainEventDefinedDetailType. */
export const VIR_DOMAIN_EVENT_DEFINED = { ADDED: 0, UPDATED: 1, RENAMED: 2, FROM_SNAPSHOT: 3 } as const;

/** virDomainEventUndefinedDetailType. */
export const VIR_DOMAIN_EVENT_UNDEFINED = { REMOVED: 0, RENAMED: 1 } as const;

/** virDomainEventStartedDetailType. */
export const VIR_DOMAIN_EVENT_STARTED = { BOOTED: 0, MIGRATED: 1, RESTORED: 2, FROM_SNAPSHOT: 3, WAKEUP: 4 } as const;

/** virDomainEventSuspendedDetailType. */
export const VIR_DOMAIN_EVENT_SUSPENDED = {
  PAUSED: 0,
  MIGRATED: 1,
  IOERROR: 2,
  WATCHDOG: 3,
  RESTORED: 4,
  FROM_SNAPSHOT: 5,
  API_ERROR: 6,
  POSTCOPY: 7,
  POSTCOPY_FAILED: 8,
} as const;

/** virDomainEventResumedDetailType. */
export const VIR_DOMAIN_EVENT_RESUMED = { UNPAUSED: 0, MIGRATED: 1, FROM_SNAPSHOT: 2, POSTCOPY: 3, POSTCOPY_FAILED: 4 } as const;

/** virDomainEventStoppedDetailType. */
export const VIR_DOMAIN_EVENT_STOPPED = {
  SHUTDOWN: 0,
  DESTROYED: 1,
  CRASHED: 2,
  MIGRATED: 3,
  SAVED: 4,
  FAILED: 5,
  FROM_SNAPSHOT: 6,
} as const;

/** virDomainEventShutdownDetailType. */
export const VIR_DOMAIN_EVENT_SHUTDOWN = { FINISHED: 0, GUEST: 1, HOST: 2 } as const;

/** virDomainEventPMSuspendedDetailType. */
export const VIR_DOMAIN_EVENT_PMSUSPENDED = { MEMORY: 0, DISK: 1 } as const;

/** virDomainEventCrashedDetailType. */
export const VIR_DOMAIN_EVENT_CRASHED = { PANICKED: 0, CRASHLOADED: 1 } as const;

/** virDomainUndefineFlagsValues (flags of virDomainUndefineFlags). */
export const VIR_DOMAIN_UNDEFINE = {
  MANAGED_SAVE: 1 << 0,
  SNAPSHOTS_METADATA: 1 << 1,
  NVRAM: 1 << 2,
  KEEP_NVRAM: 1 << 3,
  CHECKPOINTS_METADATA: 1 << 4,
  TPM: 1 << 5,
  KEEP_TPM: 1 << 6,
} as const;

/** virDomainMetadataType (virDomainGetMetadata's `type`). */
export const VIR_DOMAIN_METADATA = { DESCRIPTION: 0, TITLE: 1, ELEMENT: 2 } as const;

/** virDomainXMLFlags (virDomainGetXMLDesc's flags). */
export const VIR_DOMAIN_XML = { SECURE: 1 << 0, INACTIVE: 1 << 1, UPDATE_CPU: 1 << 2, MIGRATABLE: 1 << 3 } as const;

/** virDomainConsoleFlags (virDomainOpenConsole's flags). */
export const VIR_DOMAIN_CONSOLE = { FORCE: 1 << 0, SAFE: 1 << 1 } as const;

/** virConnectCloseReason (libvirt-common.h): why a connection's close callback ran. */
export const VIR_CONNECT_CLOSE_REASON = { ERROR: 0, EOF: 1, KEEPALIVE: 2, CLIENT: 3 } as const;

/** virErrorLevel. */
export const VIR_ERR_LEVEL = { NONE: 0, WARNING: 1, ERROR: 2 } as const;

/** virErrorDomain values bento may look at (where an error came from). */
export const VIR_FROM = { NONE: 0, XML: 5, DOM: 6, RPC: 7, CONF: 9, QEMU: 10, TEST: 12, REMOTE: 13, STREAMS: 38 } as const;

/** virErrorNumber values of interest (virterror.h); codeName on a LibvirtError is 'VIR_ERR_' + the key. */
export const VIR_ERR = {
  OK: 0,
  INTERNAL_ERROR: 1,
  NO_MEMORY: 2,
  NO_SUPPORT: 3,
  UNKNOWN_HOST: 4,
  NO_CONNECT: 5,
  INVALID_CONN: 6,
  INVALID_DOMAIN: 7,
  INVALID_ARG: 8,
  OPERATION_FAILED: 9,
  XML_ERROR: 27,
  DOM_EXIST: 28,
  OPERATION_DENIED: 29,
  OPEN_FAILED: 30,
  READ_FAILED: 31,
  WRITE_FAILED: 34,
  XML_DETAIL: 35,
  SYSTEM_ERROR: 38,
  RPC: 39,
  GNUTLS_ERROR: 40,
  NO_DOMAIN: 42,
  AUTH_FAILED: 45,
  OPERATION_INVALID: 55,
  CONFIG_UNSUPPORTED: 67,
  OPERATION_TIMEOUT: 68,
  INVALID_STREAM: 73,
  ARGUMENT_UNSUPPORTED: 74,
  OPERATION_ABORTED: 78,
  AUTH_CANCELLED: 79,
  NO_DOMAIN_METADATA: 80,
  OPERATION_UNSUPPORTED: 84,
  SSH: 85,
  AGENT_UNRESPONSIVE: 86,
  RESOURCE_BUSY: 87,
  ACCESS_DENIED: 88,
  XML_INVALID_SCHEMA: 92,
  AUTH_UNAVAILABLE: 94,
  NO_CLIENT: 96,
  LIBSSH: 98,
  DEVICE_MISSING: 99,
  MULTIPLE_DOMAINS: 110,
} as const;

/** The key of a value in one of the tables above ('IOERROR' for 5 in VIR_DOMAIN_PAUSED_REASON), or null. */
export function enumKey(table: Readonly<Record<string, number>>, value: number): string | null {
  for (const [k, v] of Object.entries(table)) if (v === value) return k;
  return null;
}
