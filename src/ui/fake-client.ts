/**
 * An in-memory stand-in for bentod behind the UiClient interface, for component tests and the TUI
 * benches: VMs in a map, state events pushed to subscribers, scripted failures, log streams.
 */
import { PassThrough, type Readable } from 'node:stream';
import { BentoError } from '../vm/errors.js';
import { refusal, type VmAction } from '../vm/actions.js';
import { parseSizeMiB } from '../vm/size.js';
import type { CreateRequest, Disposer, NetworkMode, PortForward, Snapshot, StateEvent, StatsEvent, StopRequest, VersionInfo, Vm, VmChange, VmState } from '../vm/types.js';
import type { CatalogView, ImageList, ImageProgress, ImageView, PullOptions, UiEventHandlers } from './image-api.js';
import type { UiClient } from './ui-client.js';

/** A VM as bentod would return it, with overrides. */
export function fakeVm(name: string, over: Partial<Vm> = {}): Vm {
  const cpus = over.cpus ?? 1;
  const memoryMiB = over.memoryMiB ?? 512;
  return {
    name,
    backend: 'qemu',
    state: 'stopped',
    reason: null,
    accel: 'tcg',
    cpus,
    memoryMiB,
    pid: null,
    startedAt: null,
    dir: `/home/u/.local/share/bento/vms/${name}`,
    stopDeadline: null,
    ssh: null,
    ready: null,
    progress: null,
    savedState: null,
    host: 'local',
    reachable: true,
    libvirt: null,
    ...over,
    spec: {
      name,
      backend: 'qemu',
      cpus,
      memoryMiB,
      accel: 'auto',
      kernel: '/guest/vmlinuz',
      initrd: '/guest/initrd.img',
      cmdline: 'console=ttyS0',
      disks: [],
      iso: null,
      mac: '52:54:00:12:34:56',
      console: 'serial',
      createdAt: '2024-01-01T00:00:00.000Z',
      image: null,
      firmware: 'bios',
      network: 'nat',
      publish: [],
      cloudInit: null,
      mounts: [],
      ...over.spec,
    },
  };
}

/** `n` stopped VMs named vm-0001 … */
export function fakeVms(n: number): Vm[] {
  return Array.from({ length: n }, (_, i) => fakeVm(`vm-${String(i + 1).padStart(4, '0')}`, { cpus: (i % 4) + 1, memoryMiB: 256 * ((i % 8) + 1) }));
}

type Method = 'clone' | 'rename' | 'create' | 'patch' | 'remove' | 'start' | 'stop' | 'pause' | 'resume' | 'restart' | 'suspend' | 'get' | 'events' | 'stream' | 'images' | 'pullImage' | 'snapshots' | 'snapshot' | 'restoreSnapshot' | 'removeSnapshot';

/** The fake catalog: a few official cloud images, for both architectures. */
export const FAKE_CATALOG: readonly Omit<CatalogView, 'cached'>[] = [
  { id: 'debian-12', title: 'Debian 12 "bookworm" generic cloud', arch: 'x86_64' },
  { id: 'debian-12', title: 'Debian 12 "bookworm" generic cloud', arch: 'aarch64' },
  { id: 'ubuntu-24.04', title: 'Ubuntu 24.04 LTS "noble" cloud image', arch: 'x86_64' },
  { id: 'ubuntu-24.04', title: 'Ubuntu 24.04 LTS "noble" cloud image', arch: 'aarch64' },
  { id: 'fedora-41', title: 'Fedora Cloud 41', arch: 'x86_64' },
  { id: 'alpine-3.20', title: 'Alpine Linux 3.20 (cloud-init)', arch: 'aarch64' },
];

/** A cached image as bentod would list it. */
export function fakeImage(ref: string, over: Partial<ImageView> = {}): ImageView {
  let h = 0;
  for (const ch of ref) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return {
    sha256: h.toString(16).padStart(8, '0').repeat(8),
    size: 400_000_000,
    format: 'qcow2',
    refs: [ref],
    usedBy: [],
    pulledAt: '2024-01-01T00:00:00.000Z',
    ...over,
  };
}

// Loose on purpose: bentod checks publish; the fake only keeps what parses.
function fakePublish(list: string[] | undefined): PortForward[] {
  const out: PortForward[] = [];
  for (const v of list ?? []) {
    const m = /^(?:([\d.]+):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(v);
    if (m) out.push({ hostIp: m[1] ?? '127.0.0.1', hostPort: Number(m[2]), guestPort: Number(m[3]), protocol: (m[4] as 'tcp' | 'udp' | undefined) ?? 'tcp' });
  }
  return out;
}

/** The fake bentod. */
export class FakeClient implements UiClient {
  readonly vms = new Map<string, Vm>();
  /** Every call, in order. */
  readonly calls: { method: Method; args: unknown[] }[] = [];
  /** The next call of a method rejects with this error. */
  readonly failures = new Map<Method, BentoError>();
  /** Serial log text per VM, sent when a log stream opens. */
  readonly logs = new Map<string, string>();
  /** Open log streams, and the VM of each. */
  readonly streams = new Map<PassThrough, string>();
  private readonly subscribers = new Set<UiEventHandlers>();
  /** When true, state events come without the VM, as an older bentod sends them (the store fetches it). */
  legacyEvents = false;
  /** Subscribers that asked for live figures (events with `stats: true`). */
  readonly statsSubscribers = new Set<UiEventHandlers>();
  /** When false, a graceful stop stays in `stopping` until finishStop(). */
  autoStop = true;
  /** The image cache. */
  readonly cachedImages: ImageView[] = [fakeImage('debian-12', { usedBy: [] })];
  /** A pull reports progress this many times, this far apart, before the image is cached. */
  pullTicks = 4;
  pullTickMs = 150;
  /** Pulls of these refs fail after their first progress report, with this message. */
  readonly pullFailures = new Map<string, string>();
  /** Pulls under way, by ref. */
  readonly pulling = new Map<string, Promise<void>>();
  /** Snapshots per VM, newest first, as bentod lists them. */
  readonly snaps = new Map<string, Snapshot[]>();

  constructor(vms: Vm[] = []) {
    for (const vm of vms) this.vms.set(vm.name, vm);
  }

  private record(method: Method, args: unknown[]): void {
    this.calls.push({ method, args });
    const err = this.failures.get(method);
    if (err) {
      this.failures.delete(method);
      throw err;
    }
  }
  /** Refuses as bentod does, from the same table (src/vm/actions.ts). */
  private refuse(action: VmAction, name: string): void {
    const why = refusal(action, this.must(name));
    if (why) throw new BentoError(why.code, why.message);
  }
  private must(name: string): Vm {
    const vm = this.vms.get(name);
    if (!vm) throw new BentoError('not-found', `no VM named "${name}"`);
    return vm;
  }
  /** Changes a VM's state and pushes the event, as bentod does. */
  setState(name: string, state: VmState, reason: string | null = null, extra: Partial<Vm> = {}): Vm {
    const vm = this.must(name);
    const live = state !== 'stopped';
    const next: Vm = {
      ...vm,
      state,
      reason,
      pid: live ? (vm.pid ?? 4242) : null,
      startedAt: live ? (vm.startedAt ?? new Date().toISOString()) : null,
      stopDeadline: state === 'stopping' ? vm.stopDeadline : null,
      ...extra,
    };
    this.vms.set(name, next);
    this.emit({ name, state, previous: vm.state, reason, at: new Date().toISOString(), ...(this.legacyEvents ? {} : { vm: next }) });
    return next;
  }
  /** Pushes an event to every subscriber. */
  emit(ev: StateEvent): void {
    for (const h of [...this.subscribers]) h.onEvent(ev);
  }
  /** Pushes live figures to the subscribers that asked for them, as bentod does once a second. */
  emitStats(ev: StatsEvent): void {
    for (const h of [...this.statsSubscribers]) h.onStats?.(ev);
  }
  /** Pushes an image pull's progress to every subscriber, as bentod does. */
  emitImage(p: ImageProgress): void {
    for (const h of [...this.subscribers]) h.onImage?.(p);
  }
  /** Pushes a definition change (created, changed, deleted) to every subscriber, as bentod does. */
  emitChange(ev: VmChange): void {
    for (const h of [...this.subscribers]) h.onChange?.(ev);
  }
  /** bentod dropped queued events for slow readers: every subscriber is told to re-read the list. */
  resync(): void {
    for (const h of [...this.subscribers]) h.onResync?.();
  }
  /** bentod goes away: every event stream ends. */
  end(): void {
    const subs = [...this.subscribers];
    this.subscribers.clear();
    this.statsSubscribers.clear();
    for (const h of subs) h.onEnd?.(null);
  }
  /** Ends a graceful stop that autoStop left in `stopping`. */
  finishStop(name: string): void {
    this.setState(name, 'stopped', 'guest-shutdown');
  }
  /** How many event subscribers are connected. */
  subscriberCount(): number {
    return this.subscribers.size;
  }

  async version(): Promise<VersionInfo> {
    return { version: '0.1.0', backends: ['qemu'], defaultAccel: 'tcg', pid: 1 };
  }
  async list(): Promise<Vm[]> {
    return [...this.vms.values()];
  }
  async get(name: string): Promise<Vm> {
    this.record('get', [name]);
    return this.must(name);
  }
  async create(req: CreateRequest): Promise<Vm> {
    this.record('create', [req]);
    if (this.vms.has(req.name)) throw new BentoError('already-exists', `a VM named "${req.name}" already exists`);
    const memoryMiB = req.memory === undefined ? 512 : (parseSizeMiB(req.memory) ?? 512);
    const image = req.image ? (this.cachedImages.find((i) => i.refs.includes(req.image!)) ?? fakeImage(req.image)) : null;
    if (image && !this.cachedImages.includes(image)) this.cachedImages.push(image);
    image?.usedBy.push(req.name);
    const vm = fakeVm(req.name, {
      cpus: typeof req.cpus === 'number' ? req.cpus : 1,
      memoryMiB,
      spec: {
        ...(image
          ? { image: { ref: req.image!, sha256: image.sha256, path: `/cache/${image.sha256}.qcow2`, format: 'qcow2' }, kernel: null, initrd: null, cmdline: null, firmware: 'uefi' }
          : {}),
        network: (req.network ?? 'nat') as NetworkMode,
        publish: fakePublish(req.publish),
      } as Vm['spec'],
    });
    this.vms.set(vm.name, vm);
    this.emitChange({ kind: 'created', name: vm.name, vm });
    return vm;
  }
  async patch(name: string, body: Record<string, unknown>): Promise<Vm> {
    this.record('patch', [name, body]);
    if (!(Object.keys(body).length === 1 && 'publish' in body)) this.refuse('edit', name);
    const vm = this.must(name);
    const next = { ...vm, ...(typeof body.cpus === 'number' ? { cpus: body.cpus } : {}) };
    this.vms.set(name, next);
    this.emitChange({ kind: 'changed', name, vm: next });
    return next;
  }
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    this.record('remove', [name, opts]);
    const vm = this.must(name);
    if (vm.state !== 'stopped' && !opts.force) throw new BentoError('invalid-state', `${name} is ${vm.state}; stop it first or use --force`);
    this.vms.delete(name);
    this.emitChange({ kind: 'deleted', name });
  }
  async start(name: string): Promise<Vm> {
    this.record('start', [name]);
    this.refuse('start', name);
    const saved = this.must(name).savedState;
    if (saved) {
      this.setState(name, 'restoring', null, { progress: { op: 'restore', doneBytes: saved.bytes / 2, totalBytes: saved.bytes, percent: 50, startedAt: new Date().toISOString() } });
      return this.setState(name, 'running', null, { progress: null, savedState: null });
    }
    this.setState(name, 'starting');
    return this.setState(name, 'running');
  }
  async suspend(name: string): Promise<Vm> {
    this.record('suspend', [name]);
    this.refuse('suspend', name);
    const vm = this.must(name);
    this.setState(name, 'saving', null, { progress: { op: 'suspend', doneBytes: 0, totalBytes: null, percent: 0, startedAt: new Date().toISOString() } });
    return this.setState(name, 'stopped', 'saved', { progress: null, savedState: { at: new Date().toISOString(), bytes: vm.memoryMiB * 1024 * 1024 } });
  }
  async stop(name: string, req: StopRequest = {}): Promise<Vm> {
    this.record('stop', [name, req]);
    this.refuse(req.force ? 'kill' : 'stop', name);
    if (req.force) return this.setState(name, 'stopped', 'forced');
    this.setState(name, 'stopping', null, { stopDeadline: new Date(Date.now() + (req.timeoutMs ?? 30_000)).toISOString() });
    if (this.autoStop) return this.setState(name, 'stopped', 'guest-shutdown');
    return new Promise((resolve) => {
      const check = (ev: StateEvent): void => {
        if (ev.name === name && ev.state === 'stopped') resolve(this.must(name));
      };
      this.subscribers.add({ onEvent: check });
    });
  }
  async pause(name: string): Promise<Vm> {
    this.record('pause', [name]);
    this.refuse('pause', name);
    return this.setState(name, 'paused');
  }
  async resume(name: string): Promise<Vm> {
    this.record('resume', [name]);
    this.refuse('resume', name);
    return this.setState(name, 'running');
  }
  async restart(name: string): Promise<Vm> {
    this.record('restart', [name]);
    this.refuse('restart', name);
    this.setState(name, 'stopped');
    return this.setState(name, 'running');
  }
  /** Clones as bentod does: refused by the same table, a new stopped VM with a new MAC. */
  async clone(name: string, to: string): Promise<Vm> {
    this.record('clone', [name, to]);
    this.refuse('clone', name);
    if (this.vms.has(to)) throw new BentoError('already-exists', `a VM named "${to}" already exists`);
    const src = this.must(name);
    const vm = fakeVm(to, { cpus: src.cpus, memoryMiB: src.memoryMiB, spec: { ...src.spec, name: to, mac: '52:54:00:aa:bb:cc' } });
    this.vms.set(to, vm);
    this.emitChange({ kind: 'created', name: to, vm });
    return vm;
  }
  /** Renames as bentod does: the old name goes, the new one comes. */
  async rename(name: string, to: string): Promise<Vm> {
    this.record('rename', [name, to]);
    this.refuse('rename', name);
    if (this.vms.has(to)) throw new BentoError('already-exists', `a VM named "${to}" already exists`);
    const src = this.must(name);
    const vm: Vm = { ...src, name: to, dir: src.dir.replace(/[^/]+$/, to), spec: { ...src.spec, name: to } };
    this.vms.delete(name);
    this.vms.set(to, vm);
    this.emitChange({ kind: 'deleted', name });
    this.emitChange({ kind: 'created', name: to, vm });
    return vm;
  }
  async snapshots(name: string): Promise<Snapshot[]> {
    this.record('snapshots', [name]);
    this.must(name);
    return [...(this.snaps.get(name) ?? [])];
  }
  /** Takes a snapshot as bentod would (RAM when the VM runs), then pushes the VM's `changed` event. */
  async snapshot(name: string, tag?: string): Promise<Snapshot> {
    this.record('snapshot', [name, tag]);
    this.refuse('snapshot', name);
    const vm = this.must(name);
    const list = this.snaps.get(name) ?? [];
    const t = tag ?? `snap-${list.length + 1}`;
    if (list.some((s) => s.tag === t)) throw new BentoError('already-exists', `${name} already has a snapshot named ${t}`);
    const live = vm.state === 'running' || vm.state === 'paused';
    const snap: Snapshot = { tag: t, createdAt: new Date().toISOString(), vmStateBytes: live ? 64 << 20 : 0, withRam: live, state: live ? (vm.state as 'running' | 'paused') : 'stopped', diskBytes: null, complete: true };
    this.snaps.set(name, [snap, ...list]);
    // bentod sends a fresh view of the VM with every change.
    this.emitChange({ kind: 'changed', name, vm: { ...vm } });
    return snap;
  }
  async restoreSnapshot(name: string, tag: string): Promise<Vm> {
    this.record('restoreSnapshot', [name, tag]);
    const snap = (this.snaps.get(name) ?? []).find((s) => s.tag === tag);
    if (!snap) throw new BentoError('not-found', `${name} has no snapshot named ${tag}`);
    return snap.withRam ? this.setState(name, snap.state) : this.must(name);
  }
  async removeSnapshot(name: string, tag: string): Promise<void> {
    this.record('removeSnapshot', [name, tag]);
    const list = this.snaps.get(name) ?? [];
    if (!list.some((s) => s.tag === tag)) throw new BentoError('not-found', `${name} has no snapshot named ${tag}`);
    this.snaps.set(name, list.filter((s) => s.tag !== tag));
    this.emitChange({ kind: 'changed', name, vm: { ...this.must(name) } });
  }
  async images(): Promise<ImageList> {
    this.record('images', []);
    const cachedIds = new Set(this.cachedImages.flatMap((i) => i.refs));
    return {
      cached: this.cachedImages.map((i) => ({ ...i, refs: [...i.refs], usedBy: [...i.usedBy] })),
      catalog: FAKE_CATALOG.map((c) => ({ ...c, cached: cachedIds.has(c.id) })),
    };
  }
  /** Pulls over pullTicks ticks, pushing progress events, then caches the image. */
  async pullImage(ref: string, opts: PullOptions = {}): Promise<unknown> {
    this.record('pullImage', [ref, opts]);
    if (this.cachedImages.some((i) => i.refs.includes(ref)) && !opts.force) return { ref };
    const running = this.pulling.get(ref);
    if (running) return running.then(() => ({ ref }));
    const total = 400_000_000;
    const vm = opts.vm !== undefined ? { vm: opts.vm } : {};
    const base = { ref, total, bytesPerSec: 11_300_000, ...vm };
    const pull = (async () => {
      this.emitImage({ ...base, phase: 'checksum', received: 0, etaSeconds: null });
      for (let i = 1; i <= this.pullTicks; i++) {
        await new Promise((r) => setTimeout(r, this.pullTickMs));
        const fail = this.pullFailures.get(ref);
        if (fail !== undefined) {
          this.emitImage({ ...base, phase: 'error', received: 0, etaSeconds: null, error: fail });
          throw new BentoError('io-error', fail);
        }
        const received = Math.round((total * i) / (this.pullTicks + 1));
        this.emitImage({ ...base, phase: 'download', received, etaSeconds: Math.ceil((total - received) / base.bytesPerSec) });
      }
      this.emitImage({ ...base, phase: 'verify', received: total, etaSeconds: 0 });
      this.cachedImages.push(fakeImage(ref));
      this.emitImage({ ...base, phase: 'done', received: total, etaSeconds: 0 });
    })();
    this.pulling.set(ref, pull);
    try {
      await pull;
    } finally {
      this.pulling.delete(ref);
    }
    return { ref };
  }
  async events(handlers: UiEventHandlers, opts: { snapshot?: boolean; stats?: boolean } = {}): Promise<Disposer> {
    this.record('events', [opts]);
    this.subscribers.add(handlers);
    if (opts.stats) this.statsSubscribers.add(handlers);
    if (opts.snapshot) queueMicrotask(() => this.subscribers.has(handlers) && handlers.onSnapshot?.([...this.vms.values()]));
    return () => {
      this.subscribers.delete(handlers);
      this.statsSubscribers.delete(handlers);
    };
  }
  async stream(path: string): Promise<Readable> {
    this.record('stream', [path]);
    const name = decodeURIComponent(/^\/api\/vms\/([^/]+)\/log/.exec(path)?.[1] ?? '');
    this.must(name);
    const s = new PassThrough();
    this.streams.set(s, name);
    s.on('close', () => this.streams.delete(s));
    const text = this.logs.get(name);
    if (text) s.write(text);
    return s;
  }
  /** Appends to a VM's log and to its open streams. */
  appendLog(name: string, text: string): void {
    this.logs.set(name, (this.logs.get(name) ?? '') + text);
    for (const [s, n] of this.streams) if (n === name) s.write(text);
  }
}
