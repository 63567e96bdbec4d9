/**
 * The TUI's live copy of bentod's VMs, and of the image pulls for VMs about to be created. It
 * subscribes to /api/events with a snapshot and applies each state change at once (so a change
 * reaches the screen within a frame), then re-reads that one VM for what the event does not carry
 * (pid, start time, stop deadline). Nothing polls: when the stream ends the store says so and
 * reconnects with backoff; the snapshot on reconnect resyncs.
 */
import { BentoError, errorMessage } from '../vm/errors.js';
import type { Disposer, HostEvent, HostInfo, StateEvent, VersionInfo, Vm } from '../vm/types.js';
import type { ImageProgress } from './image-api.js';
import { applyStats, dropStats, type VmLiveStats } from './live-stats.js';
import { pendingPulls, pullTarget, pullView, startingPull, type PullView } from './pulls.js';
import type { UiClient } from './ui-client.js';
import { TRANSITIONAL } from './vm-view.js';

/** How long a transitional state waits for the state that usually follows it at once. */
const TRANSITION_SETTLE_MS = 8;
/** Download progress is drawn at most this often, however often bentod reports it. */
const PROGRESS_SETTLE_MS = 100;

/** The link to bentod. */
export type Connection =
  | { status: 'connecting' }
  | { status: 'live' }
  | { status: 'lost'; error: string; retryAt: number | null };

/** What the store holds; a new object on every change. */
export interface StoreState {
  vms: ReadonlyMap<string, Vm>;
  /** The first snapshot has arrived. */
  loaded: boolean;
  conn: Connection;
  version: VersionInfo | null;
  /** Image pulls for VMs that are not defined yet, by VM name: the table's provisional rows. */
  pulls: ReadonlyMap<string, PullView>;
  /** The last failed pull that another client started for a VM (this TUI reports its own). */
  pullError: { name: string; ref: string; message: string } | null;
  /** Live figures of the running VMs (pushed by bentod once a second while this TUI is connected). */
  stats: ReadonlyMap<string, VmLiveStats>;
  /** bentod's hosts by name (`local` and the libvirt ones) with their connection states; empty until read. */
  hosts: ReadonlyMap<string, HostInfo>;
}

/** The store the App reads through useSyncExternalStore. */
export interface VmStore {
  getState(): StoreState;
  subscribe(listener: () => void): Disposer;
  /** Opens the event stream (idempotent). */
  start(): void;
  /** Puts a VM the API just returned (after create, patch or an action). */
  upsert(vm: Vm): void;
  /** Drops a VM the TUI just deleted. */
  remove(name: string): void;
  /** A pull this TUI starts for a VM it is about to create: its row shows at once, and events for `ref` drive it. */
  trackPull(name: string, ref: string): void;
  /** This TUI's pull for `name` is over (the VM exists, or the pull or the create failed): its row goes. */
  endPull(name: string): void;
  /** Retries the connection now instead of waiting for the backoff. */
  reconnectNow(): void;
  dispose(): void;
}

/** Backoff between reconnection attempts. */
export interface RetryPolicy {
  minMs: number;
  maxMs: number;
}

/** Other knobs of the store. */
export interface StoreOptions {
  /**
   * How long the row of a finished pull started elsewhere waits for its VM to be defined before it
   * goes (that client's create may fail, and it tells only its own user).
   */
  pullLingerMs?: number;
}

function settle(vm: Vm, ev: StateEvent): Vm {
  const next: Vm = { ...vm, state: ev.state, reason: ev.reason };
  if (ev.state !== 'stopping') next.stopDeadline = null;
  if (ev.state === 'stopped') {
    next.pid = null;
    next.startedAt = null;
  }
  return next;
}

/**
 * Whether an event leaves something the store cannot derive: a VM it has not seen, a new run (pid,
 * start time, the accelerator it got), a stop deadline, an error. Pause and resume change the state
 * only, so they cost no request and no second frame.
 */
export function needsRefresh(cur: Vm | undefined, ev: StateEvent): boolean {
  if (!cur || ev.state === 'stopping' || ev.state === 'error') return true;
  if (ev.state === 'stopped') return false;
  return cur.startedAt === null || cur.pid === null;
}

/** Creates the store over a client; call start() to connect. */
export function createVmStore(client: UiClient, retry: RetryPolicy = { minMs: 250, maxMs: 5000 }, opts: StoreOptions = {}): VmStore {
  const pullLingerMs = opts.pullLingerMs ?? 20_000;
  let state: StoreState = { vms: new Map(), loaded: false, conn: { status: 'connecting' }, version: null, pulls: new Map(), pullError: null, stats: new Map(), hosts: new Map() };
  const listeners = new Set<() => void>();
  let stopEvents: Disposer | null = null;
  let timer: NodeJS.Timeout | null = null;
  let delay = retry.minMs;
  let generation = 0;
  let started = false;
  let disposed = false;
  // Per VM: a re-read in flight (true = another event came meanwhile), and an event counter so a
  // reply that predates a newer event is dropped instead of flashing an old state.
  const inflight = new Map<string, boolean>();
  const seq = new Map<string, number>();
  // This TUI's own pulls (VM name -> image ref), and the timers of finished pulls started elsewhere.
  const local = new Map<string, string>();
  const lingers = new Map<string, NodeJS.Timeout>();
  // Hosts a `host` event told about while GET /api/hosts was on its way: the event is newer than the reply.
  let hostsTouched: Set<string> | null = null;

  // A transitional state (pausing, resuming…) is usually followed within milliseconds by the one QEMU
  // reports; announcing it a few milliseconds late lets one frame show both, instead of the final
  // state waiting out the renderer's frame interval behind the transitional one.
  let notifyTimer: NodeJS.Timeout | null = null;
  function notify(): void {
    if (notifyTimer) clearTimeout(notifyTimer);
    notifyTimer = null;
    for (const l of [...listeners]) l();
  }
  function set(patch: Partial<StoreState>, settleMs = 0): void {
    state = { ...state, ...patch };
    if (settleMs === 0) notify();
    else notifyTimer ??= setTimeout(notify, settleMs);
  }
  // A VM that becomes defined takes the place of its pull's provisional row.
  function setVms(vms: ReadonlyMap<string, Vm>, patch: Partial<StoreState> = {}, settleMs = 0): void {
    set({ ...patch, vms, pulls: pendingPulls(patch.pulls ?? state.pulls, vms) }, settleMs);
  }
  function mutate(fn: (m: Map<string, Vm>) => void, settleMs = 0): void {
    const m = new Map(state.vms);
    fn(m);
    setVms(m, {}, settleMs);
  }
  function setPulls(fn: (m: Map<string, PullView>) => void, patch: Partial<StoreState> = {}, settleMs = 0): void {
    const m = new Map(state.pulls);
    fn(m);
    set({ ...patch, pulls: m }, settleMs);
  }
  function unlinger(name: string): void {
    const t = lingers.get(name);
    if (t) clearTimeout(t);
    lingers.delete(name);
  }

  function onImage(p: ImageProgress): void {
    const name = pullTarget(p, local, state.vms);
    if (name === null) return;
    unlinger(name);
    if (p.phase === 'error') {
      const elsewhere = !local.has(name);
      setPulls((m) => m.delete(name), elsewhere ? { pullError: { name, ref: p.ref, message: p.error ?? 'the pull failed' } } : {});
      return;
    }
    setPulls((m) => m.set(name, pullView(name, p)), {}, p.phase === 'download' ? PROGRESS_SETTLE_MS : 0);
    if (p.phase === 'done' && !local.has(name)) {
      lingers.set(
        name,
        setTimeout(() => {
          lingers.delete(name);
          if (state.pulls.get(name)?.phase === 'done') setPulls((m) => m.delete(name));
        }, pullLingerMs),
      );
    }
  }

  function refresh(name: string): void {
    if (inflight.has(name)) {
      inflight.set(name, true);
      return;
    }
    inflight.set(name, false);
    const gen = generation;
    const at = seq.get(name) ?? 0;
    client
      .get(name)
      .then(
        (vm) => {
          if (gen === generation && !disposed && (seq.get(name) ?? 0) === at) mutate((m) => m.set(name, vm));
        },
        (err: unknown) => {
          if (gen === generation && !disposed && err instanceof BentoError && err.code === 'not-found') mutate((m) => m.delete(name));
        },
      )
      .finally(() => {
        const again = inflight.get(name);
        inflight.delete(name);
        if (again && !disposed && gen === generation) refresh(name);
      });
  }

  function onEvent(ev: StateEvent): void {
    seq.set(ev.name, (seq.get(ev.name) ?? 0) + 1);
    const cur = state.vms.get(ev.name);
    // A stopped VM has no figures any more (the next stats event would leave it out anyway).
    if (ev.state === 'stopped') state = { ...state, stats: dropStats(state.stats, ev.name) };
    const settleMs = TRANSITIONAL.has(ev.state) ? TRANSITION_SETTLE_MS : 0;
    // bentod sends the whole VM with each event: nothing to fetch. An older bentod does not.
    if (ev.vm) return mutate((m) => m.set(ev.name, ev.vm!), settleMs);
    if (cur) mutate((m) => m.set(ev.name, settle(cur, ev)), settleMs);
    if (needsRefresh(cur, ev)) refresh(ev.name);
  }

  function lost(message: string): void {
    if (disposed) return;
    stopEvents?.();
    stopEvents = null;
    generation++;
    const wait = delay;
    delay = Math.min(delay * 2, retry.maxMs);
    // Pulls started elsewhere are out of sight now; this TUI's own end with their requests.
    for (const name of lingers.keys()) unlinger(name);
    const pulls = new Map([...state.pulls].filter(([name]) => local.has(name)));
    set({ conn: { status: 'lost', error: message, retryAt: Date.now() + wait }, pulls, stats: new Map() });
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      connect();
    }, wait);
  }

  function onHost(ev: HostEvent): void {
    const name = ev.kind === 'changed' ? ev.host.name : ev.name;
    hostsTouched?.add(name);
    const m = new Map(state.hosts);
    if (ev.kind === 'changed') m.set(name, ev.host);
    else m.delete(name);
    set({ hosts: m });
  }

  // The hosts, read whole when the stream (re)opens and on a resync; their changes come as events.
  function readHosts(gen: number): void {
    const touched = new Set<string>();
    hostsTouched = touched;
    client.hosts().then(
      (list) => {
        if (gen !== generation || disposed) return;
        if (hostsTouched === touched) hostsTouched = null;
        const m = new Map(list.map((h) => [h.name, h] as const));
        for (const name of touched) {
          const cur = state.hosts.get(name);
          if (cur) m.set(name, cur);
          else m.delete(name);
        }
        set({ hosts: m });
      },
      // A bentod without hosts (or a failed read): the table shows the hosts its VMs name.
      () => undefined,
    );
  }

  // bentod dropped events this store had not read (it fell too far behind): the list is re-read whole.
  function resync(gen: number): void {
    readHosts(gen);
    client.list().then(
      (vms) => {
        if (gen !== generation || disposed) return;
        seq.clear();
        setVms(new Map(vms.map((v) => [v.name, v])));
      },
      (err: unknown) => {
        if (gen === generation) lost(errorMessage(err));
      },
    );
  }

  function connect(): void {
    if (disposed) return;
    const gen = ++generation;
    if (state.conn.status === 'lost') set({ conn: { ...state.conn, retryAt: null } });
    client
      .events(
        {
          onSnapshot: (vms) => {
            if (gen !== generation) return;
            delay = retry.minMs;
            seq.clear();
            setVms(new Map(vms.map((v) => [v.name, v])), { loaded: true, conn: { status: 'live' } });
          },
          onEvent: (ev) => {
            if (gen === generation) onEvent(ev);
          },
          onChange: (ev) => {
            if (gen !== generation) return;
            if (ev.kind === 'deleted') {
              state = { ...state, stats: dropStats(state.stats, ev.name) };
              mutate((m) => m.delete(ev.name));
            }
            else mutate((m) => m.set(ev.name, ev.vm));
          },
          onResync: () => {
            if (gen === generation) resync(gen);
          },
          onImage: (p) => {
            if (gen === generation) onImage(p);
          },
          onStats: (ev) => {
            if (gen === generation) set({ stats: applyStats(state.stats, ev) });
          },
          onHost: (ev) => {
            if (gen === generation) onHost(ev);
          },
          onEnd: (err) => {
            if (gen === generation) lost(err ? err.message : 'bentod closed the event stream');
          },
        },
        { snapshot: true, stats: true },
      )
      .then(
        (stop) => {
          if (disposed || gen !== generation) return stop();
          stopEvents = stop;
          readHosts(gen);
          client.version().then(
            (v) => gen === generation && set({ version: v }),
            () => undefined,
          );
        },
        (err: unknown) => {
          if (gen === generation) lost(errorMessage(err));
        },
      );
  }

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    start() {
      if (started || disposed) return;
      started = true;
      connect();
    },
    upsert(vm) {
      mutate((m) => m.set(vm.name, vm));
    },
    remove(name) {
      if (state.vms.has(name)) mutate((m) => m.delete(name));
    },
    trackPull(name, ref) {
      local.set(name, ref);
      if (!state.pulls.has(name) && !state.vms.has(name)) setPulls((m) => m.set(name, startingPull(name, ref)));
    },
    endPull(name) {
      local.delete(name);
      unlinger(name);
      if (state.pulls.has(name)) setPulls((m) => m.delete(name));
    },
    reconnectNow() {
      if (disposed || state.conn.status !== 'lost') return;
      if (timer) clearTimeout(timer);
      timer = null;
      connect();
    },
    dispose() {
      disposed = true;
      if (notifyTimer) clearTimeout(notifyTimer);
      generation++;
      if (timer) clearTimeout(timer);
      for (const name of lingers.keys()) unlinger(name);
      stopEvents?.();
      stopEvents = null;
      listeners.clear();
    },
  };
}
