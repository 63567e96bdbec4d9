import { z } from 'zod';
import { refusal, type VmAction } from './actions.js';
import { BentoError } from './errors.js';
import type { HostEngine } from './host-engine.js';
import { compareHosts, LOCAL_HOST, splitVmName, validateHostName, validateHostUri } from './host-name.js';
import type { ConsoleEndpoint } from './drivers/driver.js';
import type { ConsoleRelay } from './drivers/libvirt/console-relay.js';
import type { LibvirtHost } from './drivers/libvirt/host.js';
import { fieldsError, zodFields } from './spec.js';
import type { Disposer, HostEvent, HostInfo, StartRequest, StateEvent, StopRequest, Vm, VmChange } from './types.js';
import { Listeners } from './listeners.js';

export type { HostEngine } from './host-engine.js';

/** A configured libvirt host, as the preferences keep it. */
export interface HostEntry {
  name: string;
  uri: string;
}

/** Where the configured hosts are kept (the `hosts` key of $BENTO_HOME/preferences.json; the CLI layer provides it). */
export interface HostsStore {
  /** The configured hosts, as written (the registry checks each one). */
  list(): HostEntry[];
  /** Adds one host; throws when it cannot be kept (then nothing changed). */
  add(entry: HostEntry): void;
  /** Removes one host by name. */
  remove(name: string): void;
}

/** A store held in memory (tests, and a bentod built without preferences). */
export function memoryHostsStore(initial: HostEntry[] = []): HostsStore {
  let hosts = [...initial];
  return {
    list: () => [...hosts],
    add: (e) => void (hosts = [...hosts, e]),
    remove: (name) => void (hosts = hosts.filter((h) => h.name !== name)),
  };
}

/** A registry of the local engine alone: adding a libvirt host is refused (tests, and embedders without libvirt). */
export function localOnlyRegistry<L extends LocalEngine>(local: L, log: (line: string) => void = () => undefined): HostRegistry<L> {
  return new HostRegistry({
    local,
    store: memoryHostsStore(),
    log,
    makeHost: () => {
      throw new BentoError('unsupported', 'this bentod serves no libvirt hosts');
    },
  });
}

/** The local engine: the engine surface plus the console endpoint of a running VM (VmManager). */
export type LocalEngine = HostEngine & {
  consoleEndpoint(name: string): ConsoleEndpoint | null;
  /** How many VMs list() would return, without building their views (GET /api/hosts on every `bento ls`). */
  count(): number;
};

/** What the registry needs. */
export interface HostRegistryOptions<L extends LocalEngine = LocalEngine> {
  local: L;
  store: HostsStore;
  /** Makes the engine of one libvirt host (not yet connecting). */
  makeHost: (entry: HostEntry) => LibvirtHost;
  log: (line: string) => void;
}

const hostBodySchema = z.strictObject({ name: z.unknown(), uri: z.unknown() });

/** Where a VM name leads: its host, that host's engine and the VM's name there. */
interface Route {
  host: string;
  engine: HostEngine;
  vm: string;
  libvirt: LibvirtHost | null;
}

/**
 * Every host bentod serves: the local engine (host `local`) and one LibvirtHost per configured host.
 * VM names are dispatched by their host (`HOST/VM`; a plain name or `local/NAME` is local), lists
 * and events are merged, and hosts are added (kept in the preferences before connecting) and removed
 * (the host's domains are left as they are). A host connects in the background: nothing here waits
 * for libvirt, and one host's slowness never delays another's.
 */
export class HostRegistry<L extends LocalEngine = LocalEngine> {
  private readonly libvirt = new Map<string, LibvirtHost>();
  private readonly offs = new Map<string, Disposer[]>();
  private readonly stateListeners = new Listeners<StateEvent>();
  private readonly changeListeners = new Listeners<VmChange>();
  private readonly hostListeners = new Listeners<HostEvent>();
  private readonly since = new Date();
  private localOffs: Disposer[] = [];

  constructor(private readonly opts: HostRegistryOptions<L>) {}

  /** The local engine (for what only local VMs have: snapshots, stats, images). */
  get local(): L {
    return this.opts.local;
  }

  /** Follows the local engine and starts connecting every configured host (never waits for one). */
  init(): void {
    const local = this.opts.local;
    this.localOffs = [local.onState((ev) => this.emitState(ev)), local.onChange((ev) => this.emitChange(ev))];
    for (const entry of this.opts.store.list()) {
      try {
        validateHostName(entry?.name);
        validateHostUri(entry?.uri);
      } catch (err) {
        this.opts.log(`preferences: host ${JSON.stringify(entry)} skipped: ${(err as Error).message}`);
        continue;
      }
      if (this.libvirt.has(entry.name)) {
        this.opts.log(`preferences: host ${entry.name} is listed twice; the second is skipped`);
        continue;
      }
      this.attach(entry).connect();
    }
  }

  private attach(entry: HostEntry, made?: LibvirtHost): LibvirtHost {
    const h = made ?? this.opts.makeHost(entry);
    this.libvirt.set(entry.name, h);
    this.offs.set(entry.name, [
      h.onState((ev) => this.emitState(ev)),
      h.onChange((ev) => this.emitChange(ev)),
      h.onHost((info) => this.emitHost({ kind: 'changed', host: info })),
    ]);
    return h;
  }

  // --- Hosts ---

  private localInfo(): HostInfo {
    return { name: LOCAL_HOST, kind: 'local', uri: null, state: 'connected', reason: null, retryAt: null, since: this.since.toISOString(), vms: this.opts.local.count() };
  }

  /** Every host: `local` first, then by name. */
  hosts(): HostInfo[] {
    return [this.localInfo(), ...this.sortedHosts().map((h) => h.info())];
  }

  /** One host, or not-found. */
  hostInfo(name: string): HostInfo {
    if (name === LOCAL_HOST) return this.localInfo();
    return this.libvirtHost(name).info();
  }

  private sortedHosts(): LibvirtHost[] {
    return [...this.libvirt.values()].sort((a, b) => compareHosts(a.name, b.name));
  }

  private libvirtHost(name: string): LibvirtHost {
    const h = this.libvirt.get(name);
    if (!h) throw new BentoError('not-found', `no host named "${name}" (bento host ls lists them)`);
    return h;
  }

  /**
   * Adds a libvirt host from a POST /api/hosts body: checked, kept in the preferences, then
   * connected in the background. Returns it as it is now (connecting).
   */
  addHost(body: unknown): HostInfo {
    const shape = hostBodySchema.safeParse(body);
    if (!shape.success) throw fieldsError(zodFields(shape.error));
    const name = validateHostName(shape.data.name);
    const uri = validateHostUri(shape.data.uri);
    if (this.libvirt.has(name)) throw new BentoError('already-exists', `a host named "${name}" already exists`);
    const same = [...this.libvirt.values()].find((h) => h.uri === uri);
    if (same) throw new BentoError('already-exists', `host "${same.name}" is already ${uri}`, { fields: [{ field: 'uri', message: `is host ${same.name} already` }] });
    // Made first (a bentod without libvirt refuses here), kept next, connected last.
    const made = this.opts.makeHost({ name, uri });
    this.opts.store.add({ name, uri });
    const h = this.attach({ name, uri }, made);
    this.opts.log(`host ${name} added (${uri})`);
    this.emitHost({ kind: 'changed', host: h.info() });
    h.connect();
    return h.info();
  }

  /** Removes a libvirt host: forgotten by the preferences, its connection closed, its VMs gone from the list (the domains are untouched). */
  async removeHost(name: string): Promise<void> {
    if (name === LOCAL_HOST) throw new BentoError('invalid-input', "the local host cannot be removed", { fields: [{ field: 'name', message: "is this machine's own host" }] });
    const h = this.libvirtHost(name);
    this.opts.store.remove(name);
    this.libvirt.delete(name);
    for (const off of this.offs.get(name) ?? []) off();
    this.offs.delete(name);
    for (const vm of h.list()) this.emitChange({ kind: 'deleted', name: vm.name });
    this.emitHost({ kind: 'removed', name });
    this.opts.log(`host ${name} removed`);
    await h.close();
  }

  // --- VMs ---

  /** Where a VM name leads (a host that is not configured: not-found). */
  private route(name: string): Route {
    const { host, vm } = splitVmName(name);
    if (host === LOCAL_HOST) return { host, engine: this.opts.local, vm, libvirt: null };
    const h = this.libvirtHost(host);
    return { host, engine: h, vm, libvirt: h };
  }

  /** Every host's VMs: local ones first, then each libvirt host's by host name. */
  list(): Vm[] {
    return [...this.opts.local.list(), ...this.sortedHosts().flatMap((h) => h.list())];
  }

  get(name: string): Vm {
    const r = this.route(name);
    return r.engine.get(r.vm);
  }

  /**
   * Creates a VM on the host its name names (`HOST/VM`), given to that host without the prefix. A
   * name whose prefix is no configured host goes to the local engine as it is, whose name rule then
   * refuses it with every other field error of the request.
   */
  create(body: unknown): Promise<Vm> {
    const name = (body as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || typeof body !== 'object' || body === null) return this.opts.local.create(body);
    const { host, vm } = splitVmName(name);
    if (host === LOCAL_HOST) return this.opts.local.create({ ...body, name: vm });
    const h = this.libvirt.get(host);
    return h ? h.create({ ...body, name: vm }) : this.opts.local.create(body);
  }

  start(name: string, req?: StartRequest): Promise<Vm> {
    const r = this.route(name);
    return r.engine.start(r.vm, req);
  }

  stop(name: string, req?: StopRequest): Promise<Vm> {
    const r = this.route(name);
    return r.engine.stop(r.vm, req);
  }

  pause(name: string): Promise<Vm> {
    const r = this.route(name);
    return r.engine.pause(r.vm);
  }

  resume(name: string): Promise<Vm> {
    const r = this.route(name);
    return r.engine.resume(r.vm);
  }

  restart(name: string, req?: StopRequest): Promise<Vm> {
    const r = this.route(name);
    return r.engine.restart(r.vm, req);
  }

  remove(name: string, opts?: { force?: boolean }): Promise<void> {
    const r = this.route(name);
    return r.engine.remove(r.vm, opts);
  }

  inspect(name: string): Promise<Record<string, unknown>> {
    const r = this.route(name);
    return r.engine.inspect(r.vm);
  }

  /**
   * The local name of a VM for what only local VMs have (snapshots, suspend, clone, rename, edit);
   * a VM of a libvirt host gets the action table's refusal (`unsupported` naming the host, or
   * `host-unreachable`).
   */
  localName(name: string, action: VmAction): string {
    const r = this.route(name);
    if (!r.libvirt) return r.vm;
    const vm = r.libvirt.get(r.vm);
    const why = refusal(action, vm, r.libvirt.info().reason);
    if (why) throw new BentoError(why.code, why.message);
    throw new BentoError('unsupported', `${vm.name}: ${action} is not available for VMs on libvirt hosts (host ${r.host})`);
  }

  /** Whether a VM name is on a libvirt host. */
  isLibvirt(name: string): boolean {
    return splitVmName(name).host !== LOCAL_HOST;
  }

  /** The console endpoint of a running local VM (null for VMs of libvirt hosts, whose consoles open on demand). */
  consoleEndpoint(name: string): ConsoleEndpoint | null {
    const r = this.route(name);
    return r.libvirt ? null : this.opts.local.consoleEndpoint(r.vm);
  }

  /** Opens (or returns the open) console relay of a VM on a libvirt host. */
  async openConsole(name: string, opts: { force: boolean }): Promise<ConsoleRelay> {
    const r = this.route(name);
    if (!r.libvirt) throw new BentoError('internal', `${name} is a local VM: its console is its endpoint`);
    return r.libvirt.openConsole(r.vm, opts);
  }

  /** Closes the console relay of a VM on a libvirt host (its last viewer left). */
  async closeConsole(name: string): Promise<void> {
    const { host, vm } = splitVmName(name);
    await this.libvirt.get(host)?.closeConsole(vm);
  }

  // --- Events ---

  /** Every state change on every host. */
  onState(listener: (ev: StateEvent) => void): Disposer {
    return this.stateListeners.add(listener);
  }

  /** VMs created, changed or deleted on every host (a removed host's VMs are deleted). */
  onChange(listener: (ev: VmChange) => void): Disposer {
    return this.changeListeners.add(listener);
  }

  /** Hosts changing connection state, added and removed. */
  onHost(listener: (ev: HostEvent) => void): Disposer {
    return this.hostListeners.add(listener);
  }

  private emitState(ev: StateEvent): void {
    this.stateListeners.emit(ev);
  }

  private emitChange(ev: VmChange): void {
    this.changeListeners.emit(ev);
  }

  private emitHost(ev: HostEvent): void {
    this.hostListeners.emit(ev);
  }

  /** Closes every libvirt host's connection (bentod is exiting; the local engine is closed by its owner). */
  async close(): Promise<void> {
    for (const off of this.localOffs) off();
    await Promise.all([...this.libvirt.values()].map((h) => h.close()));
  }
}
