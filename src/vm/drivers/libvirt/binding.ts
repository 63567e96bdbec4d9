// The libvirt binding (native/src/libvirt/*.cc, built into bento_libvirt.node only where libvirt's
// development files were installed): its JS surface, the loader, and the checked wrapper the loader
// hands out. Arguments are checked on both sides, as for the peer-credentials addon: here first (ARGS
// below: a TypeError naming the method, the argument and the rule, before the native call), and again
// in C++ (native/src/libvirt/args.cc, same rules, limits and messages) for the raw binding on its own.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { types } from 'node:util';
import { findPackageRoot } from '../../../native/native.js';
import { errorMessage } from '../../errors.js';

type Loaded = { ok: true; binding: LibvirtBinding } | { ok: false; reason: string };

let cached: LibvirtBinding | undefined;
let cachedRaw: LibvirtBinding | undefined;

/** Why the libvirt backend is missing, or the (checked) binding. Never throws. */
export function loadLibvirt(): Loaded {
  if (cached !== undefined) return { ok: true, binding: cached };
  const raw = loadLibvirtRaw();
  if (raw.ok) cached = checkedBinding(raw.binding);
  return raw.ok ? { ok: true, binding: cached! } : raw;
}

/** The binding as the addon exports it, without the checks of this file: for tests of the C++ checks. */
export function loadLibvirtRaw(): Loaded {
  if (cachedRaw !== undefined) return { ok: true, binding: cachedRaw };
  const result = requireLibvirtFrom(libvirtCandidatePaths());
  // Only success is cached, so a binding built while bentod runs is picked up on the next call.
  if (result.ok) cachedRaw = result.binding;
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

/** Loads the first candidate that exists and matches LIBVIRT_BINDING_VERSION, checked; never throws. */
export function loadLibvirtFrom(candidates: readonly string[]): Loaded {
  const raw = requireLibvirtFrom(candidates);
  return raw.ok ? { ok: true, binding: checkedBinding(raw.binding) } : raw;
}

function requireLibvirtFrom(candidates: readonly string[]): Loaded {
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

/** Longest strings the binding takes, in UTF-8 bytes; the same as kUriMaxBytes… in native/src/libvirt/args.h. */
export const LIBVIRT_ARG_LIMITS = { uriMaxBytes: 4096, nameMaxBytes: 1024, xmlMaxBytes: 10 * 1024 * 1024, deviceMaxBytes: 1024 } as const;

/** One argument's rule: throws the TypeError the C++ check throws for the same value. */
type Check = (sig: string, value: unknown) => void;
/** One field's rule inside an options object; `name` is "opts.<field>". */
type FieldCheck = (sig: string, name: string, value: unknown) => void;

/** The same rules as native/src/libvirt/args.cc, in the same order, with the same messages. */
const UUID_RULE = 'uuid must be a string of 36 characters (8-4-4-4-12 hex digits)';
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const QUOTE_CHARS = 60;
const UINT32_MAX = 0xffffffff;

const uuid: Check = (sig, v) => {
  if (typeof v !== 'string') argError(sig, 'ERR_INVALID_ARG_TYPE', `${UUID_RULE}, got ${describe(v)}`);
  if (!UUID_RE.test(v)) argError(sig, 'ERR_INVALID_ARG_VALUE', `${UUID_RULE}, got '${[...v.slice(0, 2 * QUOTE_CHARS)].slice(0, QUOTE_CHARS).join('')}'`);
};

const nonEmptyString =
  (name: string, maxBytes: number): Check =>
  (sig, v) => {
    if (typeof v !== 'string') argError(sig, 'ERR_INVALID_ARG_TYPE', `${name} must be a non-empty string, got ${describe(v)}`);
    const len = Buffer.byteLength(v, 'utf8');
    if (len === 0) argError(sig, 'ERR_INVALID_ARG_VALUE', `${name} must be a non-empty string, got ''`);
    if (len > maxBytes) argError(sig, 'ERR_INVALID_ARG_VALUE', tooLong(name, maxBytes, len));
    if (v.includes('\0')) argError(sig, 'ERR_INVALID_ARG_VALUE', `${name} must not contain NUL characters`);
  };

/** libvirt flags: undefined (0) or an integer in [0, 2^32-1] (IntArgument in native/src/checks.cc). */
const flags: Check = (sig, v) => {
  if (v === undefined) return;
  if (typeof v !== 'number') argError(sig, 'ERR_INVALID_ARG_TYPE', `flags must be a number, got ${describe(v)}`);
  if (!Number.isInteger(v)) argError(sig, 'ERR_INVALID_ARG_VALUE', `flags must be an integer, got ${String(v)}`);
  if (v < 0) argError(sig, 'ERR_INVALID_ARG_VALUE', `flags must be >= 0, got ${String(v)}`);
  if (v > UINT32_MAX) argError(sig, 'ERR_INVALID_ARG_VALUE', `flags is out of range, got ${String(v)}`);
};

const fn =
  (name: string): Check =>
  (sig, v) => {
    if (typeof v !== 'function') argError(sig, 'ERR_INVALID_ARG_TYPE', `${name} must be a function, got ${describe(v)}`);
  };

const bytes =
  (name: string): Check =>
  (sig, v) => {
    if (!types.isUint8Array(v)) argError(sig, 'ERR_INVALID_ARG_TYPE', `${name} must be a Buffer or Uint8Array, got ${describe(v)}`);
  };

/** An options object (no array, function or ArrayBuffer view) and its fields, checked in the order given. */
const options =
  (name: string, required: boolean, fields: Record<string, FieldCheck>): Check =>
  (sig, v) => {
    if (v === undefined && !required) return;
    if (typeof v !== 'object' || v === null || Array.isArray(v) || ArrayBuffer.isView(v)) {
      argError(sig, 'ERR_INVALID_ARG_TYPE', `${name} must be an object${required ? '' : ' when given'}, got ${describe(v)}`);
    }
    for (const [field, check] of Object.entries(fields)) check(sig, `${name}.${field}`, (v as Record<string, unknown>)[field]);
  };

const intField =
  (min: number, max: number, rule: string): FieldCheck =>
  (sig, name, v) => {
    if (v === undefined) return;
    if (typeof v !== 'number') argError(sig, 'ERR_INVALID_ARG_TYPE', `${name} must be ${rule}, got ${describe(v)}`);
    if (!Number.isInteger(v) || v < min || v > max) argError(sig, 'ERR_INVALID_ARG_VALUE', `${name} must be ${rule}, got ${String(v)}`);
  };

const boolField: FieldCheck = (sig, name, v) => {
  if (v !== undefined && typeof v !== 'boolean') argError(sig, 'ERR_INVALID_ARG_TYPE', `${name} must be a boolean, got ${describe(v)}`);
};

const stringOrNullField =
  (maxBytes: number): FieldCheck =>
  (sig, name, v) => {
    if (v === undefined || v === null) return;
    if (typeof v !== 'string') argError(sig, 'ERR_INVALID_ARG_TYPE', `${name} must be a non-empty string or null, got ${describe(v)}`);
    const len = Buffer.byteLength(v, 'utf8');
    if (len > maxBytes) argError(sig, 'ERR_INVALID_ARG_VALUE', tooLong(name, maxBytes, len));
    if (len === 0 || v.includes('\0')) argError(sig, 'ERR_INVALID_ARG_VALUE', `${name} must be a non-empty string without NUL characters, or null`);
  };

const fnField: FieldCheck = (sig, name, v) => fn(name)(sig, v);

/** Every method that takes arguments: its signature as messages show it, and one check per argument. */
const ARGS = {
  open: {
    sig: 'open(uri, opts)',
    args: [
      nonEmptyString('uri', LIBVIRT_ARG_LIMITS.uriMaxBytes),
      options('opts', false, {
        keepaliveIntervalS: intField(0, 3600, 'an integer from 0 (keepalive off) to 3600'),
        keepaliveCount: intField(0, 1000, 'an integer from 0 to 1000'),
        readOnly: boolField,
      }),
    ],
  },
  onClosed: { sig: 'onClosed(cb)', args: [fn('cb')] },
  onDomainEvent: { sig: 'onDomainEvent(cb)', args: [fn('cb')] },
  lookup: { sig: 'lookup(uuid)', args: [uuid] },
  lookupByName: { sig: 'lookupByName(name)', args: [nonEmptyString('name', LIBVIRT_ARG_LIMITS.nameMaxBytes)] },
  defineXML: { sig: 'defineXML(xml)', args: [nonEmptyString('xml', LIBVIRT_ARG_LIMITS.xmlMaxBytes)] },
  undefine: { sig: 'undefine(uuid, flags)', args: [uuid, flags] },
  create: { sig: 'create(uuid)', args: [uuid] },
  shutdown: { sig: 'shutdown(uuid)', args: [uuid] },
  destroy: { sig: 'destroy(uuid)', args: [uuid] },
  suspend: { sig: 'suspend(uuid)', args: [uuid] },
  resume: { sig: 'resume(uuid)', args: [uuid] },
  reboot: { sig: 'reboot(uuid)', args: [uuid] },
  reset: { sig: 'reset(uuid)', args: [uuid] },
  xmlDesc: { sig: 'xmlDesc(uuid, flags)', args: [uuid, flags] },
  openConsole: {
    sig: 'openConsole(uuid, opts)',
    args: [
      uuid,
      options('opts', true, {
        device: stringOrNullField(LIBVIRT_ARG_LIMITS.deviceMaxBytes),
        force: boolField,
        onData: fnField,
        onEnd: fnField,
      }),
    ],
  },
  write: { sig: 'write(data)', args: [bytes('data')] },
  onDrain: { sig: 'onDrain(cb)', args: [fn('cb')] },
} satisfies Record<string, { sig: string; args: Check[] }>;

/** `call` behind the checks of ARGS[method]: a bad argument throws before `call` runs. */
function checked<A extends unknown[], R>(method: keyof typeof ARGS, call: (...args: A) => R): (...args: A) => R {
  const { sig, args: checks } = ARGS[method];
  return (...args) => {
    checks.forEach((check, i) => check(sig, args[i]));
    return call(...args);
  };
}

/** `raw` (the addon's exports, or a fake) behind the argument checks of ARGS, and so its connections and consoles. */
export function checkedBinding(raw: LibvirtBinding): LibvirtBinding {
  return {
    version: () => raw.version(),
    open: checked('open', (...a: Parameters<LibvirtBinding['open']>) => raw.open(...a).then(checkedConnection)),
  };
}

function checkedConnection(raw: LibvirtConnection): LibvirtConnection {
  return {
    get uri() {
      return raw.uri;
    },
    get closed() {
      return raw.closed;
    },
    close: () => raw.close(),
    onClosed: checked('onClosed', raw.onClosed.bind(raw)),
    onDomainEvent: checked('onDomainEvent', raw.onDomainEvent.bind(raw)),
    hostname: () => raw.hostname(),
    capabilities: () => raw.capabilities(),
    listDomains: () => raw.listDomains(),
    lookup: checked('lookup', raw.lookup.bind(raw)),
    lookupByName: checked('lookupByName', raw.lookupByName.bind(raw)),
    defineXML: checked('defineXML', raw.defineXML.bind(raw)),
    undefine: checked('undefine', raw.undefine.bind(raw)),
    create: checked('create', raw.create.bind(raw)),
    shutdown: checked('shutdown', raw.shutdown.bind(raw)),
    destroy: checked('destroy', raw.destroy.bind(raw)),
    suspend: checked('suspend', raw.suspend.bind(raw)),
    resume: checked('resume', raw.resume.bind(raw)),
    reboot: checked('reboot', raw.reboot.bind(raw)),
    reset: checked('reset', raw.reset.bind(raw)),
    xmlDesc: checked('xmlDesc', raw.xmlDesc.bind(raw)),
    openConsole: checked('openConsole', (...a: Parameters<LibvirtConnection['openConsole']>) => raw.openConsole(...a).then(checkedConsole)),
  };
}

function checkedConsole(raw: ConsoleStream): ConsoleStream {
  return {
    write: checked('write', raw.write.bind(raw)),
    onDrain: checked('onDrain', raw.onDrain.bind(raw)),
    close: () => raw.close(),
    get closed() {
      return raw.closed;
    },
  };
}

/** Throws the binding's argument error: a TypeError "<sig>: <message>" with `code` (ThrowArgError in native/src/checks.cc). */
function argError(sig: string, code: 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE', message: string): never {
  throw Object.assign(new TypeError(`${sig}: ${message}`), { code });
}

function tooLong(name: string, maxBytes: number, len: number): string {
  return `${name} must be at most ${maxBytes} bytes in UTF-8, got ${len}`;
}

/** How a wrong argument is named, as Describe in native/src/checks.cc names it. */
function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'boolean':
      return 'a boolean';
    case 'number':
      return 'a number';
    case 'bigint':
      return 'a bigint';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      return 'an object';
  }
}
