/**
 * An in-memory stand-in for the libvirt part of the addon (src/vm/drivers/libvirt/binding.ts), for
 * unit tests of the libvirt host engine and the host registry: one fake libvirtd per URI with its
 * domains, lifecycle events delivered asynchronously in order, connections that can be lost (EOF,
 * keepalive), daemons that can be down or hung, injectable failures, and console streams with flow
 * control. It follows libvirt's own behaviour where the engine depends on it (error codes and
 * messages, which events a call produces, transient domains vanishing once stopped). The real
 * libvirtd is exercised by the integration tests.
 */
import { randomUUID } from 'node:crypto';
import { BENTO_XMLNS, type ConsoleStream, type DomainEvent, type DomainInfo, type LibvirtBinding, type LibvirtConnection } from '../../src/vm/drivers/libvirt/binding.js';

/** virDomainState numbers the fake uses. */
export const STATE = { RUNNING: 1, PAUSED: 3, SHUTOFF: 5 } as const;
/** Lifecycle event numbers. */
export const EVENT = { DEFINED: 0, UNDEFINED: 1, STARTED: 2, SUSPENDED: 3, RESUMED: 4, STOPPED: 5, SHUTDOWN: 6 } as const;

/** An error as the binding throws it. */
export function libvirtError(codeName: string, code: number, message: string): Error {
  return Object.assign(new Error(message), { name: 'LibvirtError', code, codeName, domain: 10, level: 2 });
}
const noDomain = (uuid: string): Error => libvirtError('VIR_ERR_NO_DOMAIN', 42, `Domain not found: no domain with matching uuid '${uuid}'`);
const notRunning = (): Error => libvirtError('VIR_ERR_OPERATION_INVALID', 55, 'Requested operation is not valid: domain is not running');

/** What the guest does when asked to shut down. */
export type AcpiBehaviour = 'obeys' | 'ignores';

/** One fake domain. */
export interface FakeDomain {
  uuid: string;
  name: string;
  xml: string;
  id: number;
  state: number;
  reason: number;
  maxMemKiB: number;
  vcpus: number;
  persistent: boolean;
  metadata: string | null;
  acpi: AcpiBehaviour;
  /** How long an obeying guest takes to power off. */
  shutdownMs: number;
  /** Bytes the guest received on its console, in order. */
  consoleInput: Buffer[];
  /** While true the guest reads no console input: writes queue up and return false past 64 KiB. */
  consoleStalled: boolean;
  /** Echo console input back as output (a shell at a prompt). */
  echo: boolean;
}

type MethodName = Exclude<keyof LibvirtConnection, 'uri' | 'closed' | 'onClosed' | 'onDomainEvent' | 'close'>;

/** One fake libvirtd, reached at one URI. */
export class FakeLibvirtd {
  readonly domains = new Map<string, FakeDomain>();
  readonly connections = new Set<FakeConnection>();
  /** Refuses new connections (the daemon is not running). */
  down = false;
  /** Every call (and open) hangs until thaw() (a stopped or wedged libvirtd). */
  frozen = false;
  /** Calls made, as `method uuid?`, for assertions. */
  readonly calls: string[] = [];
  capabilities = "<capabilities><host><cpu><arch>x86_64</arch></cpu></host><guest><arch name='x86_64'><domain type='qemu'/></arch></guest></capabilities>";
  /** Delay before open resolves (the first connection to a fresh libvirtd is slow). */
  openDelayMs = 0;
  private readonly failures = new Map<string, Error>();
  private readonly thawers: Array<() => void> = [];
  private nextId = 1;
  /** The open console stream of each domain. */
  readonly consoles = new Map<string, FakeConsoleStream>();

  constructor(readonly uri: string) {}

  /** Makes the next call of `method` fail with `err` (once). */
  failNext(method: MethodName | 'open', err: Error): void {
    this.failures.set(method, err);
  }

  /** Stops every hanging call from hanging (they then run). */
  thaw(): void {
    this.frozen = false;
    for (const t of this.thawers.splice(0)) t();
  }

  /** Defines a domain as `virsh define` would (no bento metadata unless given); emits DEFINED. */
  define(opts: Partial<FakeDomain> & { name: string }): FakeDomain {
    const d: FakeDomain = {
      uuid: opts.uuid ?? randomUUID(),
      xml: opts.xml ?? `<domain type='qemu'><name>${opts.name}</name></domain>`,
      id: -1,
      state: STATE.SHUTOFF,
      reason: 0,
      maxMemKiB: 524288,
      vcpus: 1,
      persistent: true,
      metadata: null,
      acpi: 'obeys',
      shutdownMs: 5,
      consoleInput: [],
      consoleStalled: false,
      echo: false,
      ...opts,
    };
    const existed = this.domains.has(d.uuid);
    this.domains.set(d.uuid, d);
    this.emit(d, EVENT.DEFINED, existed ? 1 : 0);
    return d;
  }

  /** The domain named `name`. */
  byName(name: string): FakeDomain {
    const d = [...this.domains.values()].find((x) => x.name === name);
    if (!d) throw new Error(`fake libvirtd ${this.uri} has no domain ${name}`);
    return d;
  }

  /** Changes a domain's state as something outside bento would (virsh suspend, a guest powering off), with its event. */
  setState(d: FakeDomain, state: number, reason: number, event: number, detail: number): void {
    const wasActive = d.id >= 0;
    d.state = state;
    d.reason = reason;
    if (state === STATE.SHUTOFF) d.id = -1;
    else if (!wasActive) d.id = this.nextId++;
    this.emit(d, event, detail);
    if (state === STATE.SHUTOFF) {
      this.consoles.get(d.uuid)?.end(null);
      // A transient domain exists only while it runs.
      if (!d.persistent) this.domains.delete(d.uuid);
    }
  }

  /** Guest output on a domain's console (goes to the open stream, if any). */
  consoleOutput(d: FakeDomain, data: string | Buffer): void {
    this.consoles.get(d.uuid)?.output(Buffer.from(data));
  }

  /** Ends every connection as a dead daemon would (kill -9: EOF; a wedged one: keepalive), and refuses new ones. */
  kill(reason: 'eof' | 'keepalive' | 'error' = 'eof'): void {
    this.down = true;
    for (const c of [...this.connections]) c.lose(reason);
    for (const s of this.consoles.values()) s.end(libvirtError('VIR_ERR_RPC', 39, 'End of file while reading data: Input/output error'));
  }

  /** Accepts connections again. */
  revive(): void {
    this.down = false;
  }

  /** Delivers an event to every connection, in order and asynchronously (as the binding's ThreadSafeFunction does). */
  emit(d: FakeDomain, event: number, detail: number): void {
    const ev: DomainEvent = { uuid: d.uuid, name: d.name, id: d.id, event, detail };
    for (const c of this.connections) c.deliver(ev);
  }

  /**
   * Runs one call: records it, hangs while frozen, fails when a failure was injected. A read (`eager`)
   * reads the domain when asked, as libvirtd answers with what was true when it handled the call.
   */
  async call<T>(method: string, arg: string, fn: () => T, opts: { eager?: boolean } = {}): Promise<T> {
    this.calls.push(arg ? `${method} ${arg}` : method);
    let early: { value: T } | { error: unknown } | null = null;
    if (opts.eager) {
      try {
        early = { value: fn() };
      } catch (error) {
        early = { error };
      }
    }
    if (this.frozen) await new Promise<void>((resolve) => this.thawers.push(resolve));
    await new Promise((r) => setImmediate(r));
    const injected = this.failures.get(method);
    if (injected) {
      this.failures.delete(method);
      throw injected;
    }
    if (early && 'error' in early) throw early.error;
    return early ? early.value : fn();
  }

  info(d: FakeDomain): DomainInfo {
    return {
      uuid: d.uuid,
      name: d.name,
      id: d.id,
      state: d.state,
      reason: d.reason,
      maxMemKiB: d.maxMemKiB,
      memKiB: d.maxMemKiB,
      vcpus: d.vcpus,
      cpuTimeNs: 0,
      persistent: d.persistent,
      autostart: false,
      metadata: d.metadata,
    };
  }

  get(uuid: string): FakeDomain {
    const d = this.domains.get(uuid);
    if (!d) throw noDomain(uuid);
    return d;
  }

  /** The next domain id (a started domain gets one). */
  takeId(): number {
    return this.nextId++;
  }
}

/** The element of bento's namespace inside a domain XML's <metadata>, as virDomainGetMetadata returns it. */
function bentoMetadata(xml: string): string | null {
  const meta = /<metadata>([\s\S]*?)<\/metadata>/.exec(xml)?.[1];
  if (!meta) return null;
  const ns = BENTO_XMLNS.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`<([\\w.-]+:)?([\\w.-]+)\\b[^>]*xmlns(?::[\\w.-]+)?=["']${ns}["'][^>]*?(?:/>|>[\\s\\S]*?</\\1\\2>)`).exec(meta);
  return m ? m[0] : null;
}

/** A connection to a fake libvirtd. */
export class FakeConnection implements LibvirtConnection {
  closed = false;
  private closedCb: ((reason: 'error' | 'eof' | 'keepalive' | 'client') => void) | null = null;
  private eventCb: ((ev: DomainEvent) => void) | null = null;
  private readonly queue: DomainEvent[] = [];
  private flushing = false;

  constructor(
    readonly daemon: FakeLibvirtd,
    readonly uri: string,
    readonly opts: { keepaliveIntervalS?: number; keepaliveCount?: number } | undefined,
  ) {}

  /** libvirt's close callback: the connection is gone. */
  lose(reason: 'eof' | 'keepalive' | 'error'): void {
    if (this.closed) return;
    this.closed = true;
    this.daemon.connections.delete(this);
    const cb = this.closedCb;
    setImmediate(() => cb?.(reason));
  }

  deliver(ev: DomainEvent): void {
    if (this.closed || !this.eventCb) return;
    this.queue.push(ev);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      for (const e of this.queue.splice(0)) if (!this.closed) this.eventCb?.(e);
    });
  }

  private live(): FakeLibvirtd {
    if (this.closed) throw libvirtError('BENTO_CLOSED', -1, `libvirt connection to ${this.uri} is closed`);
    return this.daemon;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.daemon.connections.delete(this);
  }

  onClosed(cb: (reason: 'error' | 'eof' | 'keepalive' | 'client') => void): void {
    this.closedCb = cb;
  }

  onDomainEvent(cb: (ev: DomainEvent) => void): void {
    this.eventCb = cb;
  }

  hostname(): Promise<string> {
    const d = this.live();
    return d.call('hostname', '', () => 'fakehost');
  }

  capabilities(): Promise<string> {
    const d = this.live();
    return d.call('capabilities', '', () => d.capabilities);
  }

  listDomains(): Promise<DomainInfo[]> {
    const d = this.live();
    return d.call('listDomains', '', () => [...d.domains.values()].map((x) => d.info(x)));
  }

  lookup(uuid: string): Promise<DomainInfo> {
    const d = this.live();
    return d.call('lookup', uuid, () => d.info(d.get(uuid)), { eager: true });
  }

  lookupByName(name: string): Promise<DomainInfo> {
    const d = this.live();
    return d.call('lookupByName', name, () => d.info(d.byName(name)));
  }

  defineXML(xml: string): Promise<DomainInfo> {
    const d = this.live();
    return d.call('defineXML', '', () => {
      const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1];
      if (!name) throw libvirtError('VIR_ERR_XML_ERROR', 27, 'XML error: missing domain name');
      const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1];
      const same = [...d.domains.values()].find((x) => x.name === name);
      if (same && same.uuid !== (uuid ?? same.uuid)) throw libvirtError('VIR_ERR_OPERATION_FAILED', 9, `operation failed: domain '${name}' already exists with uuid ${same.uuid}`);
      const dom = d.define({ ...(same ?? {}), name, uuid: same?.uuid ?? uuid ?? randomUUID(), xml, metadata: bentoMetadata(xml), persistent: true });
      return d.info(dom);
    });
  }

  undefine(uuid: string, flags = 0): Promise<void> {
    const d = this.live();
    return d.call('undefine', `${uuid} ${flags}`, () => {
      const dom = d.get(uuid);
      if (!dom.persistent) throw libvirtError('VIR_ERR_OPERATION_INVALID', 55, 'Requested operation is not valid: cannot undefine transient domain');
      if (dom.id >= 0) dom.persistent = false;
      else d.domains.delete(uuid);
      d.emit(dom, EVENT.UNDEFINED, 0);
    });
  }

  create(uuid: string): Promise<void> {
    const d = this.live();
    return d.call('create', uuid, () => {
      const dom = d.get(uuid);
      if (dom.id >= 0) throw libvirtError('VIR_ERR_OPERATION_INVALID', 55, 'Requested operation is not valid: domain is already running');
      d.setState(dom, STATE.RUNNING, 1, EVENT.STARTED, 0);
    });
  }

  shutdown(uuid: string): Promise<void> {
    const d = this.live();
    return d.call('shutdown', uuid, () => {
      const dom = d.get(uuid);
      if (dom.id < 0) throw notRunning();
      if (dom.acpi === 'ignores') return;
      setTimeout(() => {
        if (dom.id < 0 || d.domains.get(uuid) !== dom) return;
        d.emit(dom, EVENT.SHUTDOWN, 0);
        d.setState(dom, STATE.SHUTOFF, 1, EVENT.STOPPED, 0);
      }, dom.shutdownMs);
    });
  }

  destroy(uuid: string): Promise<void> {
    const d = this.live();
    return d.call('destroy', uuid, () => {
      const dom = d.get(uuid);
      if (dom.id < 0) throw notRunning();
      d.setState(dom, STATE.SHUTOFF, 2, EVENT.STOPPED, 1);
    });
  }

  suspend(uuid: string): Promise<void> {
    const d = this.live();
    return d.call('suspend', uuid, () => {
      const dom = d.get(uuid);
      if (dom.id < 0) throw notRunning();
      if (dom.state === STATE.PAUSED) throw libvirtError('VIR_ERR_OPERATION_INVALID', 55, 'Requested operation is not valid: domain is already paused');
      d.setState(dom, STATE.PAUSED, 1, EVENT.SUSPENDED, 0);
    });
  }

  resume(uuid: string): Promise<void> {
    const d = this.live();
    return d.call('resume', uuid, () => {
      const dom = d.get(uuid);
      if (dom.state !== STATE.PAUSED) throw libvirtError('VIR_ERR_OPERATION_INVALID', 55, 'Requested operation is not valid: domain is not paused');
      d.setState(dom, STATE.RUNNING, 5, EVENT.RESUMED, 0);
    });
  }

  reboot(uuid: string): Promise<void> {
    const d = this.live();
    return d.call('reboot', uuid, () => {
      if (d.get(uuid).id < 0) throw notRunning();
    });
  }

  reset(uuid: string): Promise<void> {
    const d = this.live();
    return d.call('reset', uuid, () => {
      if (d.get(uuid).id < 0) throw notRunning();
    });
  }

  xmlDesc(uuid: string): Promise<string> {
    const d = this.live();
    return d.call('xmlDesc', uuid, () => d.get(uuid).xml);
  }

  openConsole(uuid: string, opts: { device?: string | null; force?: boolean; onData: (chunk: Buffer) => void; onEnd: (err: Error | null) => void }): Promise<ConsoleStream> {
    const d = this.live();
    return d.call('openConsole', `${uuid}${opts.force ? ' force' : ''}`, () => {
      const dom = d.get(uuid);
      if (dom.id < 0) throw notRunning();
      const held = d.consoles.get(uuid);
      if (held && !held.closed) {
        if (!opts.force) throw libvirtError('VIR_ERR_OPERATION_FAILED', 9, 'operation failed: Active console session exists for this domain');
        held.end(null);
      }
      const s = new FakeConsoleStream(dom, opts.onData, opts.onEnd, () => d.consoles.get(uuid) === s && d.consoles.delete(uuid));
      d.consoles.set(uuid, s);
      return s;
    });
  }
}

/** Bytes a console stream queues before write() returns false. */
const STREAM_HIGH_WATER = 64 * 1024;

/** A domain's console stream: output from consoleOutput(), input into the domain's consoleInput. */
export class FakeConsoleStream implements ConsoleStream {
  closed = false;
  /** Input waiting while the guest reads nothing. */
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private drainCb: (() => void) | null = null;
  private ended = false;

  constructor(
    private readonly dom: FakeDomain,
    private readonly onData: (chunk: Buffer) => void,
    private readonly onEnd: (err: Error | null) => void,
    private readonly release: () => void,
  ) {}

  write(data: Buffer): boolean {
    if (this.closed) throw libvirtError('BENTO_CLOSED', -1, 'console stream is closed');
    if (this.dom.consoleStalled) {
      this.queued.push(Buffer.from(data));
      this.queuedBytes += data.length;
      return this.queuedBytes <= STREAM_HIGH_WATER;
    }
    this.take(Buffer.from(data));
    return true;
  }

  private take(data: Buffer): void {
    this.dom.consoleInput.push(data);
    if (this.dom.echo) setImmediate(() => this.output(data));
  }

  /** The guest reads again: what was queued goes in, and a writer that was told to wait hears of it. */
  unstall(): void {
    this.dom.consoleStalled = false;
    for (const b of this.queued.splice(0)) this.take(b);
    this.queuedBytes = 0;
    const cb = this.drainCb;
    if (cb) setImmediate(cb);
  }

  /** Bytes waiting for the guest. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  onDrain(cb: () => void): void {
    this.drainCb = cb;
  }

  output(data: Buffer): void {
    if (!this.closed && !this.ended) this.onData(Buffer.from(data));
  }

  /** The stream ends from libvirt's side (domain stopped, console taken with force, connection lost). */
  end(err: Error | null): void {
    if (this.closed || this.ended) return;
    this.ended = true;
    this.release();
    setImmediate(() => this.onEnd(err));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }
}

/** The fake binding: a fake libvirtd per URI, created on first use. */
export class FakeLibvirt implements LibvirtBinding {
  readonly daemons = new Map<string, FakeLibvirtd>();
  /** Every open() call, by URI. */
  readonly opens: string[] = [];

  /** The fake libvirtd of a URI (made on first use). */
  daemon(uri: string): FakeLibvirtd {
    let d = this.daemons.get(uri);
    if (!d) this.daemons.set(uri, (d = new FakeLibvirtd(uri)));
    return d;
  }

  version(): string {
    return '9.0.0';
  }

  async open(uri: string, opts?: { keepaliveIntervalS?: number; keepaliveCount?: number; readOnly?: boolean }): Promise<LibvirtConnection> {
    this.opens.push(uri);
    const d = this.daemon(uri);
    await d.call('open', '', () => undefined);
    if (d.openDelayMs) await new Promise((r) => setTimeout(r, d.openDelayMs));
    if (d.down) throw libvirtError('VIR_ERR_SYSTEM_ERROR', 38, `Failed to connect socket to '${uri}': Connection refused`);
    const c = new FakeConnection(d, uri, opts);
    d.connections.add(c);
    return c;
  }
}
