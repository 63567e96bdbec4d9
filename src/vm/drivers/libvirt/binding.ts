// The libvirt binding (native/src/libvirt/*.cc, built into bento_libvirt.node only where libvirt's
// development files were installed): its JS surface, and the loader. The binding checks its own
// arguments (TypeError naming the argument and the rule), so nothing here wraps its methods.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPackageRoot } from '../../../native/native.js';
import { errorMessage } from '../../errors.js';

let cached: LibvirtBinding | undefined;

/** Why the libvirt backend is missing, or the binding. Never throws. */
export function loadLibvirt(): { ok: true; binding: LibvirtBinding } | { ok: false; reason: string } {
  if (cached !== undefined) return { ok: true, binding: cached };
  const result = loadLibvirtFrom(libvirtCandidatePaths());
  // Only success is cached, so a binding built while bentod runs is picked up on the next call.
  if (result.ok) cached = result.binding;
  return result;
}

export interface LibvirtBinding {
  /** libvirt library version, e.g. "9.0.0". */
  version(): string;
  /** virConnectOpenAuth (default auth callback: libvirt's own SSH agent/TLS/SASL handling; no passwords
   *  stored by bento) on a thread of its own; then virConnectSetKeepAlive(interval, count) (defaults 5 s
   *  and 5, as virsh; drivers without keepalive, such as test:///, are fine), the close callback, and the
   *  lifecycle event callback (registered here, so a refusal fails open()). Starts libvirt's default
   *  event loop thread on first use (virEventRegisterDefaultImpl before the first open; a thread looping
   *  virEventRunDefaultImpl). An open connection keeps Node alive, as a socket does, until close() or
   *  until libvirt reports it closed. */
  open(uri: string, opts?: { keepaliveIntervalS?: number; keepaliveCount?: number; readOnly?: boolean }): Promise<LibvirtConnection>;
}

export interface LibvirtConnection {
  readonly uri: string;
  /** True after close() or once libvirt reported the connection closed. */
  readonly closed: boolean;
  /** Idempotent: deregisters events and the close callback, closes console streams, virConnectClose.
   *  Every call resolves once the first close finished. */
  close(): Promise<void>;
  /** Called once (from libvirt's event thread via a ThreadSafeFunction) when the connection is lost.
   *  reason: 'error' | 'eof' | 'keepalive' | 'client'. Replaces an earlier listener. A loss reported
   *  before any listener was set is delivered (asynchronously) to the first one set. Never throws
   *  BENTO_CLOSED; nothing is delivered after close(). */
  onClosed(cb: (reason: 'error' | 'eof' | 'keepalive' | 'client') => void): void;
  /** The listener for VIR_DOMAIN_EVENT_ID_LIFECYCLE of all domains (the callback is registered by
   *  open()); later calls replace the listener. Delivered through a ThreadSafeFunction. Events before
   *  the first listener are dropped. Never throws BENTO_CLOSED; nothing is delivered after close(). */
  onDomainEvent(cb: (ev: DomainEvent) => void): void;
  hostname(): Promise<string>;
  /** virConnectGetCapabilities XML (to tell whether kvm is offered). */
  capabilities(): Promise<string>;
  /** virConnectListAllDomains(flags 0) + per domain the fields of DomainInfo; a domain that vanishes mid-list is skipped. */
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
  /** virStreamNew(VIR_STREAM_NONBLOCK) + virDomainOpenConsole(dev or NULL, flags VIR_DOMAIN_CONSOLE_SAFE
   *  | (force ? VIR_DOMAIN_CONSOLE_FORCE : 0)) + virStreamEventAddCallback on the event thread. Output
   *  arrives in onData (copied Buffers, in order; possibly before the promise resolves); onEnd once
   *  (null = the stream ended, e.g. the domain stopped; an Error = libvirt error). An open stream keeps
   *  Node alive until it ends or is closed. */
  openConsole(uuid: string, opts: { device?: string | null; force?: boolean; onData: (chunk: Buffer) => void; onEnd: (err: Error | null) => void }): Promise<ConsoleStream>;
}

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
  /** Domain type from the XML's <domain type=…> is NOT here; use xmlDesc when needed. */
  /** virDomainGetMetadata(VIR_DOMAIN_METADATA_ELEMENT, BENTO_XMLNS) or null when the domain has none.
   *  libvirt returns the element without its prefix or namespace: `<vm>…</vm>` for a domain defined with
   *  `<bento:vm xmlns:bento="urn:bento:vm:1">…</bento:vm>` in its <metadata>. */
  metadata: string | null;
}

/** bento's metadata namespace (one definition, in constants.ts; the addon reads metadata under the same URI). */
export { BENTO_XMLNS } from './constants.js';

export interface DomainEvent { uuid: string; name: string; id: number; event: number; detail: number }

export interface ConsoleStream {
  /** Queues bytes for the guest (virStreamSend, on libvirt's event thread; on -2 it keeps them and waits
   *  for WRITABLE). Returns false when more than 64 KiB is queued: wait for onDrain before writing more.
   *  After the stream ended the bytes are dropped (returns true); after close() it throws BENTO_CLOSED. */
  write(data: Buffer): boolean;
  onDrain(cb: () => void): void;
  /** virStreamAbort/Finish + free; idempotent; onEnd is not called after close(). */
  close(): void;
  /** True after close() or once the stream ended (onEnd delivered). */
  readonly closed: boolean;
}

/** What the binding puts on every Error it rejects or throws with for libvirt's own errors. */
export interface LibvirtError extends Error {
  name: 'LibvirtError';
  /** virErrorNumber; -1 for BENTO_CLOSED. */
  code: number;
  /** virErrorDomain. */
  domain: number;
  /** virErrorLevel. */
  level: number;
  /** 'VIR_ERR_NO_DOMAIN', …; 'VIR_ERR_<n>' for numbers the binding does not name; 'BENTO_CLOSED'. */
  codeName: string;
}

/** Whether `err` came from the binding (a libvirt error or BENTO_CLOSED). */
export function isLibvirtError(err: unknown): err is LibvirtError {
  return err instanceof Error && err.name === 'LibvirtError' && typeof (err as Partial<LibvirtError>).code === 'number';
}

/** The binding version this code was written against; must match kBindingVersion in libvirt_addon.cc. */
export const LIBVIRT_BINDING_VERSION = '1';

const ADDON_FILE = 'bento_libvirt.node';
/** Written by scripts/build-native.mjs beside the build when the binding was not built: why. */
const STATUS_FILE = 'bento_libvirt.status';
const BUILD_DIRS = ['build/Release', 'build/Debug'];
/** How scripts/build-native.mjs starts the status when the binding's compilation failed. */
const BUILD_FAILED = 'its build failed';
const HOW_TO_BUILD = 'install libvirt-dev (and pkg-config) and run node scripts/build-native.mjs (or npm rebuild bento)';

/** Every path the loader tries for bento_libvirt.node, Release first. */
export function libvirtCandidatePaths(): string[] {
  const root = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  return root === undefined ? [] : BUILD_DIRS.map((d) => path.join(root, 'native', d, ADDON_FILE));
}

/** Loads the first candidate that exists and matches LIBVIRT_BINDING_VERSION; never throws. */
export function loadLibvirtFrom(candidates: readonly string[]): { ok: true; binding: LibvirtBinding } | { ok: false; reason: string } {
  const req = createRequire(import.meta.url);
  const tried: string[] = [];
  let notBuilt: string | undefined;
  for (const file of candidates) {
    if (!fs.existsSync(file)) {
      notBuilt ??= readStatus(path.join(path.dirname(path.dirname(file)), STATUS_FILE));
      tried.push(`${file} (missing)`);
      continue;
    }
    try {
      const b = req(file) as Partial<LibvirtBinding> & { bindingVersion?: unknown };
      if (typeof b.open !== 'function' || typeof b.version !== 'function') tried.push(`${file} (not the libvirt binding)`);
      else if (b.bindingVersion === LIBVIRT_BINDING_VERSION) return { ok: true, binding: b as LibvirtBinding };
      else tried.push(`${file} (stale build: version ${String(b.bindingVersion)}, need ${LIBVIRT_BINDING_VERSION}; run node scripts/build-native.mjs)`);
    } catch (err) {
      // Typically libvirt's shared library is gone since the build (libvirt0 removed): say so as is.
      tried.push(`${file} (failed to load: ${errorMessage(err)})`);
    }
  }
  if (candidates.length === 0) {
    return { ok: false, reason: `the libvirt binding (${ADDON_FILE}) is not available: bento's package root was not found` };
  }
  const missingOnly = tried.every((t) => t.endsWith('(missing)'));
  if (missingOnly) {
    if (notBuilt === undefined) {
      return {
        ok: false,
        reason: `the libvirt binding (${ADDON_FILE}) is not built (it is built only where pkg-config finds libvirt's development files, libvirt-dev); ${HOW_TO_BUILD}`,
      };
    }
    const advice = notBuilt.startsWith(BUILD_FAILED) ? 'run node scripts/build-native.mjs to see the errors and retry' : HOW_TO_BUILD;
    return { ok: false, reason: `the libvirt binding (${ADDON_FILE}) was not built: ${notBuilt}; ${advice}` };
  }
  const problem = tried.find((t) => !t.endsWith('(missing)')) ?? tried[0];
  return { ok: false, reason: `the libvirt binding (${ADDON_FILE}) is not usable: ${problem}` };
}

function readStatus(file: string): string | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}
