// PLACEHOLDER of helper C2 (types of the issue 12 contract, section 1): helper A's file with the real
// loader replaces this one at merge. loadLibvirt() here always says the addon is not built.

/** Why the libvirt backend is missing, or the binding. Never throws. */
export function loadLibvirt(): { ok: true; binding: LibvirtBinding } | { ok: false; reason: string } {
  return { ok: false, reason: 'not built yet' };
}

/** The libvirt part of the native addon. */
export interface LibvirtBinding {
  /** libvirt library version, e.g. "9.0.0". */
  version(): string;
  /** virConnectOpenAuth in an AsyncWorker, then keepalive and the close callback. */
  open(uri: string, opts?: { keepaliveIntervalS?: number; keepaliveCount?: number; readOnly?: boolean }): Promise<LibvirtConnection>;
}

/** One open libvirt connection. */
export interface LibvirtConnection {
  readonly uri: string;
  /** True after close() or once libvirt reported the connection closed. */
  readonly closed: boolean;
  /** Idempotent: deregisters events and the close callback, closes console streams, virConnectClose. */
  close(): Promise<void>;
  /** Called once when the connection is lost. Replaces an earlier listener. */
  onClosed(cb: (reason: 'error' | 'eof' | 'keepalive' | 'client') => void): void;
  /** Lifecycle events of every domain; later calls replace the listener. */
  onDomainEvent(cb: (ev: DomainEvent) => void): void;
  hostname(): Promise<string>;
  /** virConnectGetCapabilities XML (to tell whether kvm is offered). */
  capabilities(): Promise<string>;
  /** Every domain; a domain that vanishes mid-list is skipped. */
  listDomains(): Promise<DomainInfo[]>;
  lookup(uuid: string): Promise<DomainInfo>;
  lookupByName(name: string): Promise<DomainInfo>;
  defineXML(xml: string): Promise<DomainInfo>;
  /** virDomainUndefineFlags. */
  undefine(uuid: string, flags?: number): Promise<void>;
  /** virDomainCreate */
  create(uuid: string): Promise<void>;
  /** virDomainShutdown (asks the guest) */
  shutdown(uuid: string): Promise<void>;
  /** virDomainDestroy */
  destroy(uuid: string): Promise<void>;
  suspend(uuid: string): Promise<void>;
  resume(uuid: string): Promise<void>;
  /** virDomainReboot(flags 0) */
  reboot(uuid: string): Promise<void>;
  /** virDomainReset */
  reset(uuid: string): Promise<void>;
  /** virDomainGetXMLDesc */
  xmlDesc(uuid: string, flags?: number): Promise<string>;
  /** virDomainOpenConsole on a non-blocking stream; output in onData, onEnd once. */
  openConsole(uuid: string, opts: { device?: string | null; force?: boolean; onData: (chunk: Buffer) => void; onEnd: (err: Error | null) => void }): Promise<ConsoleStream>;
}

/** A domain as virConnectListAllDomains and the lookups report it. */
export interface DomainInfo {
  uuid: string;
  name: string;
  /** Domain id while active, else -1. */
  id: number;
  /** virDomainGetState: virDomainState and its reason number. */
  state: number;
  reason: number;
  maxMemKiB: number;
  memKiB: number;
  vcpus: number;
  cpuTimeNs: number;
  persistent: boolean;
  autostart: boolean;
  /** virDomainGetMetadata(VIR_DOMAIN_METADATA_ELEMENT, BENTO_XMLNS) or null when the domain has none. */
  metadata: string | null;
}

/** The XML namespace of bento's metadata element in domains it defines. */
export const BENTO_XMLNS = 'urn:bento:vm:1';

/** One lifecycle event (VIR_DOMAIN_EVENT_ID_LIFECYCLE). */
export interface DomainEvent {
  uuid: string;
  name: string;
  id: number;
  event: number;
  detail: number;
}

/** A domain's console stream. */
export interface ConsoleStream {
  /** Queues bytes for the guest; false when more than 64 KiB is queued: wait for onDrain. */
  write(data: Buffer): boolean;
  onDrain(cb: () => void): void;
  /** virStreamAbort/Finish + free; idempotent; onEnd is not called after close(). */
  close(): void;
  readonly closed: boolean;
}
