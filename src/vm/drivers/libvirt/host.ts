import fs from 'node:fs';
import type net from 'node:net';
import { Mutex } from 'async-mutex';
import { refusal, type VmAction } from '../../actions.js';
import { BentoError, errorMessage } from '../../errors.js';
import { fromLibvirtError } from './errors.js';
import type { HostEngine } from '../../host-engine.js';
import { joinVmName } from '../../host-name.js';
import { DEFAULT_STOP_TIMEOUT_MS } from '../../manager.js';
import type { Disposer, HostConnState, HostInfo, StartRequest, StateEvent, StopRequest, Vm, VmChange, VmState } from '../../types.js';
import { isLibvirtError, type DomainEvent, type DomainInfo, type LibvirtBinding, type LibvirtConnection } from './binding.js';
import { ConsoleRelay } from './console-relay.js';
import { accelOfXml, buildDomainXml, domainTypeFor, hostArchOf } from './domain-xml.js';
import { cachedDomain, domainVm, shownState, type CachedDomain, type Overlay } from './domain-view.js';
import { libvirtSpecFromRequest } from './libvirt-spec.js';
import { mapDomainState, mapLifecycleEvent } from './states.js';
import { Listeners } from '../../listeners.js';
import { readRunStart, writeRunStart } from './run-record.js';
import { VIR_DOMAIN_UNDEFINE } from './constants.js';
import { SERIAL_LOG_CAP } from '../../runtime.js';

/** virDomainUndefineFlags of a delete: managed save, snapshot and checkpoint metadata, NVRAM go with it. */
const UNDEFINE_FLAGS = VIR_DOMAIN_UNDEFINE.MANAGED_SAVE | VIR_DOMAIN_UNDEFINE.SNAPSHOTS_METADATA | VIR_DOMAIN_UNDEFINE.NVRAM | VIR_DOMAIN_UNDEFINE.CHECKPOINTS_METADATA;
/** Lookups of XML run at most this many at a time while a host's domains are listed. */
const LIST_PARALLEL = 8;

/** One libvirt host as bentod holds it. */
export interface LibvirtHostOptions {
  name: string;
  uri: string;
  /** $BENTO_HOME: bentod's folders for the host's VMs go under hosts/NAME/. */
  home: string;
  /** The addon's libvirt binding, or why there is none (the host then stays unreachable with that reason). */
  binding: LibvirtBinding | { unavailable: string };
  log: (line: string) => void;
  /** Bound on every call into libvirt (default 30 s): a hung libvirtd must not hang bentod. */
  callTimeoutMs?: number;
  /** Bound on defining a domain (default 60 s). */
  defineTimeoutMs?: number;
  /** Bound on opening the connection (default 60 s: the first connection to a fresh libvirtd takes ~12 s). */
  connectTimeoutMs?: number;
  /** Reconnect backoff: first wait and cap (default 0.5 s doubling to 15 s). */
  backoff?: { firstMs: number; maxMs: number };
  /** libvirt keepalive (default every 2 s, 2 unanswered: a hung host is noticed after about 6 s: interval × (count + 1), measured 3.0 s at 1 s × 2). */
  keepalive?: { intervalS: number; count: number };
  /** Default graceful stop wait. */
  stopTimeoutMs?: number;
  /** Serial log rotation size. */
  logCap?: number;
  /** Peer check for clients of console relay sockets. */
  admit?: (socket: net.Socket) => boolean;
}

/** A listener of a host's connection state. */
export type HostListener = (info: HostInfo) => void;

/** How long a create waits for a host's connect attempt in progress (the CLI's create deadline is 30 s). */
const CREATE_CONNECT_WAIT_MS = 20_000;

/**
 * One libvirt host: its connection (connecting, connected, unreachable with a retry time,
 * reconnecting; keepalive; the close callback makes it unreachable at once), a cache of its domains
 * kept by lifecycle events (applied from the event at once, then confirmed by a lookup) and a full
 * list diffed on every (re)connect, and the VM operations. Every libvirt call has a timeout and
 * nothing here waits on another host.
 */
export class LibvirtHost implements HostEngine {
  readonly name: string;
  readonly uri: string;
  private readonly binding: LibvirtBinding | null;
  private conn: LibvirtConnection | null = null;
  private caps: string | null = null;
  private readonly doms = new Map<string, CachedDomain>();
  private readonly byName = new Map<string, string>();
  private state: HostConnState = 'connecting';
  private reason: string | null = null;
  private retryAt: Date | null = null;
  private since = new Date();
  private tried = false;
  private attempting = false;
  private generation = 0;
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | null = null;
  private closing = false;
  private readonly locks = new Map<string, Mutex>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly relays = new Map<string, ConsoleRelay>();
  private readonly stateListeners = new Listeners<StateEvent>();
  private readonly changeListeners = new Listeners<VmChange>();
  private readonly hostListeners = new Listeners<HostInfo>();
  /** Checks re-run after every change (waits for a state). */
  private readonly watchers = new Set<() => void>();
  private readonly t: { call: number; define: number; connect: number; stop: number };

  constructor(private readonly opts: LibvirtHostOptions) {
    this.name = opts.name;
    this.uri = opts.uri;
    this.binding = 'unavailable' in opts.binding ? null : opts.binding;
    this.backoffMs = opts.backoff?.firstMs ?? 500;
    this.t = { call: opts.callTimeoutMs ?? 30_000, define: opts.defineTimeoutMs ?? 60_000, connect: opts.connectTimeoutMs ?? 60_000, stop: opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS };
  }

  // --- Connection ---

  /** Starts connecting in the background (never waits for libvirt). */
  connect(): void {
    if (this.closing || this.conn || this.attempting || this.retryTimer) return;
    if (!this.binding) {
      const why = (this.opts.binding as { unavailable: string }).unavailable;
      this.setHost('unreachable', `the libvirt backend is unavailable: ${why}`, null);
      return;
    }
    void this.attempt();
  }

  /** The host as GET /api/hosts lists it. */
  info(): HostInfo {
    return {
      name: this.name,
      kind: 'libvirt',
      uri: this.uri,
      state: this.state,
      reason: this.reason,
      retryAt: this.state === 'unreachable' && this.retryAt ? this.retryAt.toISOString() : null,
      since: this.since.toISOString(),
      vms: this.doms.size,
    };
  }

  /** Subscribes to the host's connection state (VMs coming and going are VM events; info().vms counts them). */
  onHost(listener: HostListener): Disposer {
    return this.hostListeners.add(listener);
  }

  private async attempt(): Promise<void> {
    this.retryTimer = null;
    const gen = ++this.generation;
    this.attempting = true;
    this.setHost(this.tried ? 'reconnecting' : 'connecting', this.reason, null);
    this.tried = true;
    let conn: LibvirtConnection;
    try {
      conn = await this.openConnection();
    } catch (err) {
      this.attempting = false;
      this.failed(gen, err);
      return;
    }
    if (this.closing || gen !== this.generation) {
      this.attempting = false;
      void conn.close().catch(() => undefined);
      return;
    }
    this.conn = conn;
    const pending: DomainEvent[] = [];
    let listed = false;
    conn.onClosed((why) => this.lost(conn, why));
    // Events that come while the list is read are only confirmed afterwards (the list may be newer).
    conn.onDomainEvent((ev) => (listed ? this.onEvent(conn, ev) : pending.push(ev)));
    try {
      const caps = await this.call('capabilities', this.name, (c) => c.capabilities(), this.t.call, conn);
      const infos = await this.call('listDomains', this.name, (c) => c.listDomains(), this.t.call, conn);
      const accels = await mapLimit(infos, LIST_PARALLEL, (i) =>
        this.call('xmlDesc', this.name, (c) => c.xmlDesc(i.uuid), this.t.call, conn).then(accelOfXml, () => 'tcg' as const),
      );
      if (conn.closed || this.conn !== conn) throw new Error('the connection closed while its domains were listed');
      this.caps = caps;
      this.attempting = false;
      this.backoffMs = this.opts.backoff?.firstMs ?? 500;
      this.setHost('connected', null, null);
      this.applyList(infos, accels);
      listed = true;
      for (const ev of pending) if (this.doms.has(ev.uuid)) this.confirmLater(conn, this.doms.get(ev.uuid)!);
      else this.refresh(conn, ev.uuid);
      this.opts.log(`${this.name}: connected to ${this.uri} (${infos.length} domains)`);
    } catch (err) {
      this.attempting = false;
      if (this.conn === conn) this.conn = null;
      void conn.close().catch(() => undefined);
      this.failed(gen, err);
    }
  }

  /** binding.open within the connect timeout; a connection that opens after it is closed at once. */
  private openConnection(): Promise<LibvirtConnection> {
    const ka = this.opts.keepalive ?? { intervalS: 2, count: 2 };
    const opening = Promise.resolve().then(() => this.binding!.open(daemonUri(this.uri), { keepaliveIntervalS: ka.intervalS, keepaliveCount: ka.count }));
    return withTimeout(opening, this.t.connect, () => {
      opening.then((late) => void late.close().catch(() => undefined), () => undefined);
      return new BentoError('host-unreachable', `connecting to ${this.uri} did not finish within ${this.t.connect / 1000} s`);
    });
  }

  /** A connect attempt failed: unreachable with the reason, and the next attempt scheduled with backoff. */
  private failed(gen: number, err: unknown): void {
    if (this.closing || gen !== this.generation) return;
    // The reason is libvirt's own message where there is one (not bento's prefixed rewording).
    const cause = err instanceof BentoError && isLibvirtError(err.cause) ? err.cause : err;
    const msg = isLibvirtError(cause) ? cause.message : errorMessage(cause);
    this.opts.log(`${this.name}: cannot connect to ${this.uri}: ${msg}`);
    this.scheduleRetry(msg);
  }

  private scheduleRetry(reason: string): void {
    const wait = this.backoffMs;
    this.backoffMs = Math.min(wait * 2, this.opts.backoff?.maxMs ?? 15_000);
    this.setHost('unreachable', reason, new Date(Date.now() + wait));
    this.retryTimer = setTimeout(() => void this.attempt(), wait);
    this.retryTimer.unref();
  }

  /** libvirt's close callback: the host is unreachable at once, its VMs keep their last known state. */
  private lost(conn: LibvirtConnection, why: string): void {
    if (conn !== this.conn) return;
    this.conn = null;
    if (this.attempting) return; // the attempt in progress fails on its next call and schedules the retry
    const reason = lostReason(why, this.uri);
    this.opts.log(`${this.name}: ${reason}`);
    for (const [uuid, relay] of this.relays) {
      this.relays.delete(uuid);
      void relay.close();
    }
    this.scheduleRetry(reason);
    for (const d of this.doms.values()) this.emitChange({ kind: 'changed', name: this.full(d), vm: this.view(d) });
    this.notifyWatchers();
  }

  private setHost(state: HostConnState, reason: string | null, retryAt: Date | null): void {
    if (state !== this.state) this.since = new Date();
    this.state = state;
    this.reason = reason;
    this.retryAt = retryAt;
    this.hostChanged();
  }

  private hostChanged(): void {
    const info = this.info();
    this.hostListeners.emit(info);
  }

  /** Lets go of the host: no more attempts, relays and the connection closed (its domains are untouched). */
  async close(): Promise<void> {
    this.closing = true;
    this.generation++;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const relays = [...this.relays.values()];
    this.relays.clear();
    await Promise.all(relays.map((r) => r.close()));
    const conn = this.conn;
    this.conn = null;
    // A hung libvirtd must not hold bentod's exit.
    if (conn) await withTimeout(conn.close(), 5_000, () => new Error('close timed out')).catch((err: unknown) => this.opts.log(`${this.name}: closing: ${errorMessage(err)}`));
    this.notifyWatchers();
  }

  // --- The domain cache ---

  private full(d: CachedDomain): string {
    return joinVmName(this.name, d.info.name);
  }

  /** Remembers when a run started, so a restarted bentod shows its uptime; a failure only costs that. */
  private recordRun(dir: string, id: number, startedAt: Date): void {
    try {
      writeRunStart(dir, id, startedAt);
    } catch (err) {
      this.opts.log(`${this.name}: cannot record a run's start in ${dir}: ${errorMessage(err)}`);
    }
  }

  private view(d: CachedDomain): Vm {
    return domainVm(d, { host: this.name, uri: this.uri, home: this.opts.home, reachable: this.state === 'connected' });
  }

  /** A full list after (re)connecting, diffed against the cache: created, changed and deleted events. */
  private applyList(infos: DomainInfo[], accels: Array<'kvm' | 'tcg'>): void {
    const seen = new Set<string>();
    const told = new Set<string>();
    infos.forEach((info, i) => {
      seen.add(info.uuid);
      const accel = accels[i] ?? 'tcg';
      const d = this.doms.get(info.uuid);
      if (!d) {
        this.add(info, accel);
        told.add(info.uuid);
        return;
      }
      d.seq++;
      const emitted = this.update(d, () => {
        const sameRun = info.id >= 0 && info.id === d.info.id;
        if (!sameRun) d.startedAt = null;
        this.setInfo(d, info);
        d.accel = accel;
      });
      if (emitted) told.add(info.uuid);
    });
    for (const d of [...this.doms.values()]) if (!seen.has(d.info.uuid)) this.drop(d);
    // Every VM is reachable again: the ones not pushed above still need telling.
    for (const d of this.doms.values()) if (!told.has(d.info.uuid)) this.emitChange({ kind: 'changed', name: this.full(d), vm: this.view(d) });
  }

  private add(info: DomainInfo, accel: 'kvm' | 'tcg'): void {
    if (this.doms.has(info.uuid)) return;
    const stale = this.byName.get(info.name);
    if (stale) {
      const old = this.doms.get(stale);
      if (old) this.drop(old);
    }
    const d = cachedDomain(info, accel);
    // A run bentod saw start before it restarted (or before the host was lost) keeps its uptime.
    if (info.id >= 0) d.startedAt = readRunStart(this.view(d).dir, info.id);
    this.doms.set(info.uuid, d);
    this.byName.set(info.name, info.uuid);
    const vm = this.view(d);
    this.emitChange({ kind: 'created', name: vm.name, vm });
    this.notifyWatchers();
  }

  private drop(d: CachedDomain): void {
    if (this.doms.get(d.info.uuid) !== d) return;
    this.doms.delete(d.info.uuid);
    if (this.byName.get(d.info.name) === d.info.uuid) this.byName.delete(d.info.name);
    const relay = this.relays.get(d.info.uuid);
    this.relays.delete(d.info.uuid);
    void relay?.close();
    this.emitChange({ kind: 'deleted', name: this.full(d) });
    this.notifyWatchers();
  }

  /** libvirt's facts of a domain: the state (keeping an event's reason when the lookup has none for the same state). */
  private setInfo(d: CachedDomain, info: DomainInfo): void {
    const m = mapDomainState(info.state, info.reason);
    d.mapped = { state: m.state, reason: m.reason ?? (m.state === d.mapped.state ? d.mapped.reason : null) };
    d.info = info;
  }

  /**
   * Changes a cached domain and pushes what changed: a state event when the shown state or reason
   * did, a `changed` when anything else did; a rename is a deletion and a creation. Returns whether
   * anything was pushed.
   */
  private update(d: CachedDomain, mutate: () => void): boolean {
    if (this.doms.get(d.info.uuid) !== d) {
      mutate();
      return false;
    }
    const before = this.view(d);
    const oldName = d.info.name;
    mutate();
    if (d.overlay && !d.overlay.from.includes(d.mapped.state)) d.overlay = null;
    const shown = shownState(d).state;
    if (shown !== 'stopping') d.stopDeadline = null;
    const startedBefore = d.startedAt;
    if (shown === 'stopped') d.startedAt = null;
    else if ((before.state === 'stopped' || before.state === 'starting') && d.info.id >= 0 && !d.startedAt && isActive(shown)) d.startedAt = new Date();
    else if (d.info.id >= 0 && !d.startedAt && isActive(shown)) d.startedAt = readRunStart(before.dir, d.info.id);
    if (d.startedAt && d.startedAt !== startedBefore && d.info.id >= 0) this.recordRun(before.dir, d.info.id, d.startedAt);
    if (d.info.name !== oldName) {
      if (this.byName.get(oldName) === d.info.uuid) this.byName.delete(oldName);
      this.byName.set(d.info.name, d.info.uuid);
      this.emitChange({ kind: 'deleted', name: before.name });
      const vm = this.view(d);
      this.emitChange({ kind: 'created', name: vm.name, vm });
      this.notifyWatchers();
      return true;
    }
    const after = this.view(d);
    let pushed = true;
    if (after.state !== before.state || after.reason !== before.reason) {
      const ev: StateEvent = { name: after.name, state: after.state, previous: before.state, reason: after.reason, at: new Date().toISOString(), vm: after };
      this.stateListeners.emit(ev);
    } else if (JSON.stringify(stable(after)) !== JSON.stringify(stable(before))) {
      this.emitChange({ kind: 'changed', name: after.name, vm: after });
    } else pushed = false;
    this.notifyWatchers();
    return pushed;
  }

  private emitChange(ev: VmChange): void {
    this.changeListeners.emit(ev);
  }

  private notifyWatchers(): void {
    for (const w of [...this.watchers]) w();
  }

  /** A lifecycle event: the cache changes at once from its meaning, then a lookup confirms it. */
  private onEvent(conn: LibvirtConnection, ev: DomainEvent): void {
    if (conn !== this.conn) return;
    const d = this.doms.get(ev.uuid);
    const meaning = mapLifecycleEvent(ev.event, ev.detail);
    if (!d) {
      if (meaning.kind !== 'undefined') this.refresh(conn, ev.uuid);
      return;
    }
    d.seq++;
    if (meaning.kind === 'state') {
      this.update(d, () => {
        d.mapped = { state: meaning.state, reason: meaning.reason };
        d.info = { ...d.info, id: meaning.state === 'stopped' ? -1 : ev.id };
      });
      this.confirmLater(conn, d);
    } else {
      // A (re)definition may change anything (name, metadata, type); an undefine may leave a running transient domain.
      this.refresh(conn, ev.uuid);
    }
  }

  /** Runs per-domain follow-ups one after another, so two lookups of one domain never race. */
  private serial(uuid: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(uuid) ?? Promise.resolve();
    const next = prev.then(fn).catch((err: unknown) => this.opts.log(`${this.name}: ${errorMessage(err)}`));
    this.chains.set(uuid, next);
    void next.finally(() => {
      if (this.chains.get(uuid) === next) this.chains.delete(uuid);
    });
    return next;
  }

  private confirmLater(conn: LibvirtConnection, d: CachedDomain): void {
    void this.confirm(d, conn);
  }

  /** Looks the domain up and applies what libvirt says, unless a newer event came meanwhile; gone: deleted. */
  private confirm(d: CachedDomain, conn: LibvirtConnection | null = this.conn): Promise<void> {
    const seq = d.seq;
    return this.serial(d.info.uuid, async () => {
      if (!conn || conn !== this.conn || this.doms.get(d.info.uuid) !== d) return;
      let info: DomainInfo;
      try {
        info = await this.call('lookup', this.full(d), (c) => c.lookup(d.info.uuid), this.t.call, conn);
      } catch (err) {
        if (err instanceof BentoError && err.code === 'not-found' && conn === this.conn && d.seq === seq) this.drop(d);
        return;
      }
      if (conn !== this.conn || d.seq !== seq) return;
      this.update(d, () => this.setInfo(d, info));
    });
  }

  /**
   * Reads a domain afresh (lookup and XML): a new one is created, a known one updated, a vanished one
   * deleted. An answer that an event overtook (the domain changed meanwhile) is read again.
   */
  private refresh(conn: LibvirtConnection, uuid: string): void {
    void this.serial(uuid, async () => {
      for (let tries = 0; tries < 3 && conn === this.conn; tries++) {
        const before = this.doms.get(uuid);
        const seq = before?.seq;
        let info: DomainInfo;
        let xml: string | null;
        try {
          info = await this.call('lookup', `${this.name} domain ${uuid}`, (c) => c.lookup(uuid), this.t.call, conn);
          xml = await this.call('xmlDesc', `${this.name} domain ${uuid}`, (c) => c.xmlDesc(uuid), this.t.call, conn).catch(() => null);
        } catch (err) {
          const d = this.doms.get(uuid);
          if (d && d === before && d.seq === seq && err instanceof BentoError && err.code === 'not-found' && conn === this.conn) this.drop(d);
          return;
        }
        if (conn !== this.conn) return;
        const d = this.doms.get(uuid);
        if (d !== before || (d && d.seq !== seq)) continue;
        if (!d) return this.add(info, xml ? accelOfXml(xml) : 'tcg');
        this.update(d, () => {
          this.setInfo(d, info);
          if (xml) d.accel = accelOfXml(xml);
        });
        return;
      }
    });
  }

  // --- The engine surface ---

  /** Subscribes to every state change of this host's VMs. */
  onState(listener: (ev: StateEvent) => void): Disposer {
    return this.stateListeners.add(listener);
  }

  /** Subscribes to this host's VMs being created, changed or deleted. */
  onChange(listener: (ev: VmChange) => void): Disposer {
    return this.changeListeners.add(listener);
  }

  /** Every domain, sorted by name (the last known ones while unreachable). */
  list(): Vm[] {
    return [...this.doms.values()].map((d) => this.view(d)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One domain by its name on this host. */
  get(name: string): Vm {
    return this.view(this.dom(name));
  }

  private dom(name: string): CachedDomain {
    const uuid = this.byName.get(name);
    const d = uuid ? this.doms.get(uuid) : undefined;
    if (!d) throw new BentoError('not-found', `no VM named "${joinVmName(this.name, name)}"`);
    return d;
  }

  /** The domain, or the action table's refusal (unreachable host, unsupported action, state). */
  private target(name: string, action: VmAction): CachedDomain {
    const d = this.dom(name);
    const why = refusal(action, this.view(d), this.reason);
    if (why) throw new BentoError(why.code, why.message);
    return d;
  }

  /** While a connect attempt runs, waits (at most `ms`) for it to end; resolves at once otherwise. */
  private settled(ms: number): Promise<void> {
    const busy = (state: HostConnState): boolean => state === 'connecting' || state === 'reconnecting';
    if (!busy(this.state)) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        off();
        resolve();
      };
      const timer = setTimeout(finish, ms);
      const off = this.hostListeners.add((info) => busy(info.state) || finish());
    });
  }

  private unreachable(): BentoError {
    if (this.state === 'unreachable') return new BentoError('host-unreachable', `${this.name} is unreachable: ${this.reason ?? 'not connected'}`);
    return new BentoError('host-unreachable', `${this.name} is ${this.state} (${this.uri}); try again in a moment`);
  }

  /** Defines a domain from a bento spec (body.name is the domain's name). */
  async create(body: unknown): Promise<Vm> {
    const spec = libvirtSpecFromRequest(body);
    // `bento host add` then `bento create HOST/VM` at once: the first connect may still run (a fresh
    // libvirtd probes qemu for seconds), so wait for it within the create's own deadline.
    await this.settled(CREATE_CONNECT_WAIT_MS);
    if (this.state !== 'connected') throw this.unreachable();
    const full = joinVmName(this.name, spec.name);
    const exists = (): void => {
      if (this.byName.has(spec.name)) throw new BentoError('already-exists', `a VM named "${full}" already exists`);
    };
    exists();
    return this.locked(`define ${spec.name}`, async () => {
      exists();
      const caps = this.caps ?? (await this.call('capabilities', this.name, (c) => c.capabilities()));
      const arch = hostArchOf(caps);
      const xml = buildDomainXml(spec, { domainType: domainTypeFor(spec, caps), ...(arch ? { arch } : {}) });
      const info = await this.call('defineXML', full, (c) => c.defineXML(xml), this.t.define);
      // The DEFINED event may have added it already.
      await this.serial(info.uuid, async () => this.add(info, accelOfXml(xml)));
      this.opts.log(`${this.name}: defined ${spec.name} (${info.uuid})`);
      return this.get(info.name);
    });
  }

  /** Starts a domain (virDomainCreate). */
  async start(name: string, _req: StartRequest = {}): Promise<Vm> {
    return this.transition(name, 'start', { state: 'starting', from: ['stopped', 'error'] }, (c, uuid) => c.create(uuid));
  }

  /** Pauses a running domain (virDomainSuspend). */
  async pause(name: string): Promise<Vm> {
    return this.transition(name, 'pause', { state: 'pausing', from: ['running'] }, (c, uuid) => c.suspend(uuid));
  }

  /** Resumes a paused domain. */
  async resume(name: string): Promise<Vm> {
    return this.transition(name, 'resume', { state: 'resuming', from: ['paused'] }, (c, uuid) => c.resume(uuid));
  }

  private async transition(name: string, action: VmAction, overlay: Overlay, act: (c: LibvirtConnection, uuid: string) => Promise<void>): Promise<Vm> {
    const first = this.target(name, action);
    return this.locked(first.info.uuid, async () => {
      const d = this.target(name, action);
      this.update(d, () => (d.overlay = overlay));
      try {
        await this.call(action, this.full(d), (c) => act(c, d.info.uuid));
        // Before the overlay goes: the event may not have come yet, and the state must not flicker back.
        await this.confirm(d);
      } finally {
        this.update(d, () => (d.overlay = null));
      }
      return this.view(d);
    });
  }

  /**
   * Stops a domain: force destroys it at once; otherwise the guest is asked to power off
   * (virDomainShutdown; a paused one is resumed first so it can see the request) and given
   * timeoutMs, then destroyed. The wait is outside the domain's lock, so a forced stop can overtake it.
   */
  async stop(name: string, req: StopRequest = {}): Promise<Vm> {
    if (req.force) return this.forceStop(this.target(name, 'kill'), 'forced stop');
    const first = this.target(name, 'stop');
    const timeoutMs = req.timeoutMs ?? this.t.stop;
    const deadline = Date.now() + timeoutMs;
    const asked = await this.locked(first.info.uuid, async () => {
      const d = this.target(name, 'stop');
      const wasPaused = d.mapped.state === 'paused';
      this.update(d, () => {
        d.overlay = { state: 'stopping', from: ['running', 'paused', 'stopping'] };
        d.stopDeadline = new Date(deadline);
      });
      try {
        if (wasPaused) await this.call('resume', this.full(d), (c) => c.resume(d.info.uuid));
        await this.call('shutdown', this.full(d), (c) => c.shutdown(d.info.uuid));
        return true;
      } catch (err) {
        if (err instanceof BentoError && (err.code === 'host-unreachable' || err.code === 'timeout' || err.code === 'not-found')) {
          this.update(d, () => (d.overlay = null));
          throw err;
        }
        this.opts.log(`${this.full(d)}: could not ask the guest to power off (${errorMessage(err)}); forcing`);
        return false;
      }
    });
    if (asked && (await this.waitStopped(first, Math.max(0, deadline - Date.now())))) {
      this.update(first, () => (first.overlay = null));
      return this.view(first);
    }
    if (this.doms.get(first.info.uuid) !== first) return this.view(first);
    return this.forceStop(first, `guest did not power off within ${timeoutMs} ms; forcing`);
  }

  /** Destroys a domain now (no lock: it overtakes a graceful stop that waits). */
  private async forceStop(d: CachedDomain, why: string): Promise<Vm> {
    if (shownState(d).state === 'stopped' && d.info.id < 0) throw new BentoError('not-running', `${this.full(d)} is not running`);
    this.opts.log(`${this.full(d)}: ${why}`);
    try {
      await this.call('destroy', this.full(d), (c) => c.destroy(d.info.uuid));
    } catch (err) {
      // Stopped on its own meanwhile: the stop is done.
      if (!(err instanceof BentoError && err.code === 'invalid-state')) {
        this.update(d, () => (d.overlay = null));
        throw err;
      }
    }
    await this.confirm(d);
    this.update(d, () => (d.overlay = null));
    return this.view(d);
  }

  /** Resolves true once the domain shows stopped (or is gone), false at the timeout or when the host is lost. */
  private waitStopped(d: CachedDomain, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.doms.get(d.info.uuid) !== d || shownState(d).state === 'stopped') done(true);
        else if (this.state !== 'connected') done(false);
      };
      const timer = setTimeout(() => done(false), ms);
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.watchers.delete(check);
        resolve(ok);
      };
      this.watchers.add(check);
      check();
    });
  }

  /** Reboots a running domain (force: virDomainReset); a stopped one is started. */
  async restart(name: string, req: StopRequest = {}): Promise<Vm> {
    const first = this.target(name, 'restart');
    if (first.info.id < 0) return this.start(name);
    return this.locked(first.info.uuid, async () => {
      const d = this.target(name, 'restart');
      if (req.force) await this.call('reset', this.full(d), (c) => c.reset(d.info.uuid));
      else await this.call('reboot', this.full(d), (c) => c.reboot(d.info.uuid));
      this.update(d, () => (d.startedAt = new Date()));
      await this.confirm(d);
      return this.view(d);
    });
  }

  /**
   * Undefines a domain bento created (foreign ones are refused by the action table), with bentod's
   * folder for it; a running one needs force, which destroys it first. Disks are left alone.
   */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    const first = this.target(name, 'delete');
    const shown = shownState(first).state;
    if (first.info.id >= 0 || shown !== 'stopped') {
      if (!opts.force) throw new BentoError('invalid-state', `${this.full(first)} is ${shown === 'stopped' ? 'running' : shown}; stop it first or use --force`);
      await this.forceStop(first, 'deleting with --force').catch((err: unknown) => {
        if (!(err instanceof BentoError && err.code === 'not-running')) throw err;
      });
    }
    await this.locked(first.info.uuid, async () => {
      const d = this.target(name, 'delete');
      if (d.info.id >= 0) throw new BentoError('invalid-state', `${this.full(d)} was started again while being deleted`);
      const dir = this.view(d).dir;
      await this.call('undefine', this.full(d), (c) => c.undefine(d.info.uuid, UNDEFINE_FLAGS));
      await this.serial(d.info.uuid, async () => this.drop(d));
      fs.rmSync(dir, { recursive: true, force: true });
      this.opts.log(`${this.name}: undefined ${d.info.name}`);
    });
  }

  /** The domain plus libvirt's own view: its XML and its info (the view alone while unreachable). */
  async inspect(name: string): Promise<Record<string, unknown>> {
    const d = this.dom(name);
    const vm = this.view(d);
    if (this.state !== 'connected') return { ...vm, driver: null, runtime: { error: this.unreachable().message } };
    const uuid = d.info.uuid;
    const [xml, info] = await Promise.all([
      this.call('xmlDesc', vm.name, (c) => c.xmlDesc(uuid)).catch((err: unknown) => ({ error: errorMessage(err) })),
      this.call('lookup', vm.name, (c) => c.lookup(uuid)).catch((err: unknown) => ({ error: errorMessage(err) })),
    ]);
    return { ...vm, driver: { uri: this.uri, xml }, runtime: info };
  }

  /**
   * Opens the domain's console relay (a libvirt console stream into the VM's serial log and a socket
   * ConsoleSession connects to), or returns the one open. A console another client holds is refused
   * (`busy`) unless `force`, which takes it over.
   */
  async openConsole(name: string, opts: { force: boolean }): Promise<ConsoleRelay> {
    const d = this.target(name, 'attach');
    const uuid = d.info.uuid;
    const open = this.relays.get(uuid);
    if (open && !open.closed) return open;
    const full = this.full(d);
    return this.locked(`console ${uuid}`, async () => {
      const again = this.relays.get(uuid);
      if (again && !again.closed) return again;
      const relay = await ConsoleRelay.open({
        name: full,
        dir: this.view(d).dir,
        logCap: this.opts.logCap ?? SERIAL_LOG_CAP,
        log: this.opts.log,
        ...(this.opts.admit ? { admit: this.opts.admit } : {}),
        openStream: async (handlers) => {
          try {
            return await this.call('openConsole', full, (c) => c.openConsole(uuid, { device: null, force: opts.force, ...handlers }));
          } catch (err) {
            if (err instanceof BentoError && /active console session/i.test(err.message)) {
              throw new BentoError('busy', `${full}: its console is held by another client (such as virsh console); attach with --force to take it over (bento console --force ${full})`, { cause: err });
            }
            throw err;
          }
        },
      });
      this.relays.set(uuid, relay);
      relay.onEnd(() => {
        if (this.relays.get(uuid) === relay) this.relays.delete(uuid);
      });
      return relay;
    });
  }

  /** Closes a domain's console relay, if open (its last viewer left). */
  async closeConsole(name: string): Promise<void> {
    const uuid = this.byName.get(name);
    const relay = uuid ? this.relays.get(uuid) : undefined;
    if (!uuid || !relay) return;
    this.relays.delete(uuid);
    // Under the console lock: an open that follows waits until this one has let go of the files.
    await this.locked(`console ${uuid}`, () => relay.close());
  }

  // --- Calls into libvirt ---

  /**
   * One binding call on the current connection (or `conn`), bounded by `ms`; a libvirt error becomes
   * bento's (fromLibvirtError, naming `subject`), a hang a `timeout`.
   */
  private async call<T>(what: string, subject: string, fn: (c: LibvirtConnection) => Promise<T>, ms = this.t.call, conn: LibvirtConnection | null = this.conn): Promise<T> {
    if (!conn) throw this.unreachable();
    try {
      return await withTimeout(
        Promise.resolve().then(() => fn(conn)),
        ms,
        () => new BentoError('timeout', `${subject}: libvirt did not answer ${what} within ${ms / 1000} s (${this.name}, ${this.uri})`),
      );
    } catch (err) {
      if (err instanceof BentoError) throw err;
      throw fromLibvirtError(err, subject, { connecting: this.state !== 'connected' });
    }
  }

  private locked<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let m = this.locks.get(key);
    if (!m) this.locks.set(key, (m = new Mutex()));
    return m.runExclusive(fn);
  }
}

function isActive(state: VmState): boolean {
  return state !== 'stopped' && state !== 'error';
}

/** A view without the fields a state event carries, to tell whether anything else changed. */
function stable(vm: Vm): Omit<Vm, 'state' | 'reason' | 'startedAt' | 'stopDeadline'> {
  const { state: _s, reason: _r, startedAt: _a, stopDeadline: _d, ...rest } = vm;
  return rest;
}

/**
 * The reason a host shows when libvirt reports its connection closed. Over ssh (qemu+ssh, +libssh,
 * +libssh2) an end of stream is usually the ssh connection (sshd gone, network cut), not libvirtd:
 * the reason says so rather than blaming libvirtd.
 */
export function lostReason(why: string, uri: string): string {
  if (why === 'keepalive') return 'connection lost: libvirtd stopped answering keepalives';
  if (why !== 'eof') return `connection lost (${why})`;
  return /^[a-z0-9]+\+(ssh|libssh|libssh2):/i.test(uri) ? 'connection lost: the ssh connection to libvirtd closed' : 'connection lost: libvirtd closed it';
}

/**
 * The URI bentod opens for a host: an ssh transport gets `no_tty=1` unless the URI says otherwise, so
 * ssh runs with BatchMode and fails with its reason instead of prompting for a password or a key's
 * passphrase on whatever terminal bentod was started from (bentod is a daemon; credentials are the
 * SSH agent's or a key file's). The host keeps the URI as the user gave it.
 */
export function daemonUri(uri: string): string {
  if (!/^[a-z0-9]+\+ssh:/i.test(uri) || /[?&]no_tty=/.test(uri)) return uri;
  const hash = uri.indexOf('#');
  const [base, frag] = hash < 0 ? [uri, ''] : [uri.slice(0, hash), uri.slice(hash)];
  return `${base}${base.includes('?') ? '&' : '?'}no_tty=1${frag}`;
}

/** Resolves or rejects as `p` does, or rejects with `onTimeout()` after `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Maps with at most `limit` calls in flight, keeping the order. */
async function mapLimit<A, B>(items: A[], limit: number, fn: (a: A) => Promise<B>): Promise<B[]> {
  const out: B[] = new Array<B>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
