import { Mutex } from 'async-mutex';
import { BentoError, errorMessage } from './errors.js';
import { vmDir, vmFiles } from './paths.js';
import { appendEvent, readRuntime, writeRuntime } from './runtime.js';
import { applyPatch, validateCreate, type HostFacts, type ResolvedImage } from './spec.js';
import { seedFiles, seedUnavailable, writeSeedIso } from './cloud-init.js';
import { mountsChanged, rewriteSeed, saveSeedInput } from './seed-store.js';
import { mountGuide } from './mounts.js';
import { GuestWatch } from './guest-watch.js';
import { formatPublish, portProblem } from './net.js';
import { hostKeyAlias, readKnownHosts } from './ssh.js';
import { corruptRefusal, corruptView, validateRepair } from './corrupt.js';
import type { InstanceStore } from './store.js';
import type { ConsoleEndpoint, Driver, RunningVm } from './drivers/driver.js';
import type { Backend, Disposer, DiskFormat, PortForward, Snapshot, SnapshotState, SshEndpoint, StartRequest, StateEvent, StopRequest, Vm, VmChange, VmOperation, VmProgress, VmSpec, VmState } from './types.js';
import fs from 'node:fs';
import { checkTag, defaultTag, forgetSnapshot, listSnapshots, recordSnapshot, snapshotDisks, snapshotRefusal } from './snapshots.js';
import type { DiskSnapshotter, VmSnapshotStore } from './drivers/driver.js';
import { consumeSavedState, removePartial, savedStateInfo } from './saved-state.js';
import { canSave, suspendToDisk } from './suspend.js';
import { refusal, type VmAction } from './actions.js';
import { cloneDiskRefusal, cloneSpec, copyForClone, renamedSpec, renameKnownHosts, seedUserData } from './clone.js';
import { validateName } from './spec.js';
import { Listeners } from './listeners.js';

/** Whether a PATCH body changes nothing but the port forwards (which a running QEMU VM can take live). */
function isPublishOnly(body: unknown): boolean {
  return typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 1 && 'publish' in body;
}

/** Why each of these forwards cannot be bound right now, one message per forward naming it. */
async function publishProblems(forwards: PortForward[]): Promise<string[]> {
  const problems: string[] = [];
  for (const f of forwards) {
    const why = await portProblem(f);
    if (why) problems.push(`publish ${formatPublish(f)}: ${why}`);
  }
  return problems;
}

/** Default wait for a guest to power off before a graceful stop turns forced. */
export const DEFAULT_STOP_TIMEOUT_MS = 30_000;

interface Entry {
  spec: VmSpec;
  state: VmState;
  reason: string | null;
  vm: RunningVm | null;
  unsubscribe: Disposer | null;
  stopDeadline: Date | null;
  /** Follows the guest to readiness while it runs with a network. */
  watch: GuestWatch | null;
  /** The long operation running now, if any (its progress is part of the view). */
  progress: VmProgress | null;
  /**
   * While a long operation holds the state it shows (saving, restoring), the backend's own pause and
   * resume events along the way are not shown; `stopped` always is.
   */
  held: boolean;
  /** When progress was last pushed, to keep `changed` events to a few a second. */
  progressPushedAt: number;
}

/** Progress is pushed at most this often while a long operation runs. */
const PROGRESS_PUSH_MS = 250;

/** What a long operation is given: a way to report how far it has got. */
export interface OperationContext {
  report(p: { doneBytes?: number | null; totalBytes?: number | null; percent?: number | null }): void;
}

/** Where create --image gets its base image: the image cache, which pulls it when it is not there. */
export interface ImageSource {
  /** Resolves a catalog id, path or URL to a cached, verified image; `forVm` labels the pull's progress. */
  ensure(ref: string, forVm: string): Promise<ResolvedImage>;
}

/** The SSH side of image VMs: whose keys go into seeds, and which key bento ssh uses. */
export interface SshKeys {
  /** The public key lines a new seed authorises (bento's own key first). */
  publicKeys(): Promise<string[]>;
  /** bento's private key for this home. */
  identityFile: string;
}

/** What the manager needs from outside; injected so tests can swap drivers. */
export interface ManagerDeps {
  store: InstanceStore;
  drivers: Partial<Record<Backend, Driver>>;
  host: HostFacts;
  /** Reads an existing image's format (qemu-img runs off the event loop: it may be slow). */
  detectFormat: (file: string) => DiskFormat | Promise<DiskFormat>;
  log: (line: string) => void;
  /** The image cache; absent: create --image is refused. */
  images?: ImageSource;
  /** Keys for seeds and bento ssh; absent: seeds authorise no key. */
  ssh?: SshKeys;
  /** The host user a seed's guest user is named after (default: this process's user). */
  hostUser?: string;
}

/** The engine: every VM's live state, and every operation on VMs, serialised per VM. */
export class VmManager {
  private readonly entries = new Map<string, Entry>();
  private readonly locks = new Map<string, Mutex>();
  private readonly listeners = new Listeners<StateEvent>();
  private readonly changeListeners = new Listeners<VmChange>();

  constructor(private readonly deps: ManagerDeps) {}

  /** Loads every VM and re-adopts the ones still running from a previous bentod. */
  async init(): Promise<void> {
    const { problems } = this.deps.store.load();
    for (const p of problems) this.deps.log(`store: ${p}`);
    await Promise.all(
      this.deps.store.list().map(async (spec) => {
        const entry: Entry = { spec, state: 'stopped', reason: null, vm: null, unsubscribe: null, stopDeadline: null, watch: null, progress: null, held: false, progressPushedAt: 0 };
        this.entries.set(spec.name, entry);
        const files = vmFiles(this.dir(spec.name));
        try {
          const vm = await this.driver(spec).adopt(spec, this.dir(spec.name));
          // Read after adopt: a driver that rolls back an interrupted start records why.
          const rec = readRuntime(files.state);
          entry.reason = rec?.reason ?? null;
          if (!vm) {
            if (this.driver(spec).liveProcess(this.dir(spec.name)).alive) {
              entry.state = 'error';
              entry.reason = 'unmanaged: a process of this VM is alive but cannot be adopted (bento stop --force kills it)';
            } else {
              // Nothing runs: a half-written state is never used, a complete one is what the VM is.
              if (removePartial(files)) this.deps.log(`${spec.name}: deleted a half-written ${files.savedStatePartial}`);
              if (savedStateInfo(files)) entry.reason = 'saved';
              else if (rec && rec.reason === null) entry.reason = 'exited while bentod was not running';
            }
            return;
          }
          this.attach(entry, vm);
          try {
            entry.state = await vm.queryState();
            entry.reason = null;
          } catch (err) {
            // Alive but not drivable: shown as broken; `stop --force` kills it by its proven pid.
            entry.state = 'error';
            entry.reason = `unresponsive: ${errorMessage(err)}`;
          }
          this.deps.log(`adopted ${spec.name} (pid ${vm.pid}, ${entry.state})`);
        } catch (err) {
          entry.state = 'error';
          entry.reason = `adopt-failed: ${errorMessage(err)}`;
          this.deps.log(`${spec.name}: ${entry.reason}`);
        }
      }),
    );
  }

  /** Subscribes to every state change. */
  onState(listener: (ev: StateEvent) => void): Disposer {
    return this.listeners.add(listener);
  }

  /** Subscribes to VMs being created, changed (PATCH) or deleted. */
  onChange(listener: (ev: VmChange) => void): Disposer {
    return this.changeListeners.add(listener);
  }

  private changed(ev: VmChange): void {
    this.changeListeners.emit(ev);
  }

  /** Every VM, sorted by name. */
  list(): Vm[] {
    const all = [...this.entries.values()].map((e) => this.view(e)).concat(this.corruptVms());
    return all.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** How many VMs list() returns (the broken ones too), without building their views. */
  count(): number {
    return this.entries.size + this.deps.store.listCorrupt().length;
  }

  /** One VM, or not-found. */
  get(name: string): Vm {
    const broken = this.corruptVm(name);
    if (broken) return broken;
    return this.view(this.entry(name));
  }

  /** Backend details of one VM (command line, QMP status when running). */
  async inspect(name: string): Promise<Record<string, unknown>> {
    const broken = this.corruptVm(name);
    if (broken) return { ...broken, driver: null, runtime: null };
    const e = this.entry(name);
    const runtime = e.vm ? await e.vm.inspect().catch((err: unknown) => ({ error: errorMessage(err) })) : null;
    return { ...this.view(e), driver: this.driver(e.spec).describe(e.spec, this.dir(e.spec.name)), runtime, guestMounts: mountGuide(e.spec) };
  }

  /** Validates and creates a VM; nothing is left on disk if any rule fails. */
  async create(body: unknown): Promise<Vm> {
    const detect = await this.formatsOf(body);
    const hostUser = this.deps.hostUser ?? 'bento';
    // Every rule that does not need the image is checked before a pull that may take minutes.
    let checked = validateCreate(body, this.deps.host, detect, undefined, hostUser);
    const imageRef = (body as { image?: string }).image;
    if (imageRef !== undefined) {
      if (this.entries.has(checked.spec.name)) throw new BentoError('already-exists', `a VM named "${checked.spec.name}" already exists`);
      if (checked.spec.cloudInit) {
        const why = seedUnavailable();
        if (why) throw new BentoError('unsupported', why);
      }
      if (!this.deps.images) throw new BentoError('unsupported', 'this bentod has no image cache');
      checked = validateCreate(body, this.deps.host, detect, await this.deps.images.ensure(imageRef, checked.spec.name), hostUser);
    }
    const { spec, newDiskMiB, userData } = checked;
    const driver = this.driver(spec);
    const avail = driver.availability();
    if (!avail.ok) throw new BentoError('unsupported', `backend ${spec.backend} is unavailable: ${avail.reason}`);
    const sshKeys = spec.cloudInit ? ((await this.deps.ssh?.publicKeys()) ?? []) : [];
    return this.locked(spec.name, async () => {
      if (this.entries.has(spec.name)) throw new BentoError('already-exists', `a VM named "${spec.name}" already exists`);
      const final = await this.deps.store.create(spec, async (dir) => {
        const made = await driver.provision(spec, dir, { newDiskMiB });
        if (made.cloudInit) {
          await writeSeedIso(vmFiles(dir).seed, seedFiles({ spec: made, sshKeys, userData }));
          saveSeedInput(dir, userData);
        }
        return made;
      });
      const entry: Entry = { spec: final, state: 'stopped', reason: null, vm: null, unsubscribe: null, stopDeadline: null, watch: null, progress: null, held: false, progressPushedAt: 0 };
      this.entries.set(final.name, entry);
      this.deps.log(`created ${final.name}`);
      const vm = this.view(entry);
      this.changed({ kind: 'created', name: vm.name, vm });
      return vm;
    });
  }

  /** Changes the spec of a stopped VM. */
  async patch(name: string, body: unknown): Promise<Vm> {
    return this.locked(name, async () => {
      if (this.deps.store.getCorrupt(name)) return this.repairCorrupt(name, body);
      const e = this.entry(name);
      if (!isPublishOnly(body)) this.refuse('edit', e);
      if (e.state !== 'stopped') {
        if (e.state === 'running' && isPublishOnly(body)) return this.patchForwards(e, body);
        throw new BentoError('invalid-state', `${name} is ${e.state}; stop it before changing it (only publish can change while it runs)`);
      }
      // The saved RAM belongs to this very definition (devices, memory, disks): it must not change under it.
      if (!isPublishOnly(body) && savedStateInfo(vmFiles(this.dir(name)))) {
        throw new BentoError('invalid-state', `${name} has a saved state; start it or start --discard first`);
      }
      const next = applyPatch(e.spec, body, this.deps.host);
      // The seed first: a guest told of a share the spec lacks skips it (its device is absent), never the reverse.
      if (next.cloudInit && mountsChanged(e.spec.mounts, next.mounts)) await rewriteSeed(this.dir(name), next, (await this.deps.ssh?.publicKeys()) ?? []);
      e.spec = next;
      this.deps.store.write(e.spec);
      const vm = this.view(e);
      this.changed({ kind: 'changed', name, vm });
      return vm;
    });
  }

  /**
   * Starts a stopped VM; a second start while one runs gets `already-running`. A VM with a saved state
   * resumes from it (restoring), unless `discard` deletes it first and it boots afresh.
   */
  async start(name: string, req: StartRequest = {}): Promise<Vm> {
    this.refuse('start', this.entry(name));
    return this.locked(name, async () => {
      const e = this.entry(name);
      if (e.state !== 'stopped' && e.state !== 'error') throw new BentoError('already-running', `${name} is already ${e.state}`);
      if (e.vm) throw new BentoError('already-running', `${name} is already running (pid ${e.vm.pid ?? '?'})`);
      const files = vmFiles(this.dir(name));
      const saved = savedStateInfo(files);
      if (saved && req.discard) {
        consumeSavedState(files.savedState);
        this.deps.log(`${name}: discarded its saved state (${saved.bytes} bytes from ${saved.at}); booting afresh`);
      } else if (saved) {
        return this.restore(e);
      }
      this.setState(e, 'starting', null);
      try {
        await this.checkPublish(e.spec);
        const vm = await this.driver(e.spec).start(e.spec, this.dir(name));
        this.attach(e, vm);
        this.setState(e, await vm.queryState().catch(() => 'running' as const), null);
      } catch (err) {
        const msg = errorMessage(err);
        this.setState(e, 'stopped', msg.startsWith('start-failed') ? msg : `start-failed: ${msg}`);
        throw err;
      }
      return this.view(e);
    });
  }

  /**
   * Suspends a running or paused VM to disk: its RAM and device state go to saved.state in its folder
   * and the VM stops with reason `saved`; the next start resumes from there.
   */
  async suspend(name: string): Promise<Vm> {
    this.refuse('suspend', this.entry(name));
    return this.locked(name, async () => {
      const e = this.entry(name);
      const vm = e.vm;
      if (!vm || (e.state !== 'running' && e.state !== 'paused')) {
        throw new BentoError('invalid-state', `${name} is ${e.state}; only a running or paused VM can be suspended`);
      }
      if (!this.driver(e.spec).capabilities.saveRestore || !canSave(vm)) {
        throw new BentoError('unsupported', `the ${e.spec.backend} backend cannot save ${name}'s state on this host${e.spec.backend === 'vz' ? ' (it needs macOS 14 on Apple silicon)' : ''}`);
      }
      const files = vmFiles(this.dir(name));
      const wasPaused = e.state === 'paused';
      const info = await this.longOperation(e, 'saving', 'suspend', (ctx) => suspendToDisk({ name, vm, files, wasPaused, report: ctx.report, log: this.deps.log }), () => 'stopped');
      // However qemu ended after the save (quit, or killed when it lingered), the VM is what it saved.
      if ((e.state as VmState) === 'stopped' && e.reason !== 'saved') this.setState(e, 'stopped', 'saved');
      this.deps.log(`${name}: suspended to ${files.savedState} (${info.bytes} bytes)`);
      return this.view(e);
    });
  }

  /** Resumes a VM from its saved state (under the VM's lock): restoring, then running (or paused, as it was saved). */
  private async restore(e: Entry): Promise<Vm> {
    const name = e.spec.name;
    const files = vmFiles(this.dir(name));
    const paused = readRuntime(files.state)?.savedPaused ?? false;
    await this.checkPublish(e.spec);
    await this.longOperation(e, 'restoring', 'restore', async (ctx) => {
      try {
        const vm = await this.driver(e.spec).start(e.spec, this.dir(name), { restoreFrom: files.savedState, restorePaused: paused, onProgress: ctx.report });
        this.attach(e, vm);
      } catch (err) {
        const msg = errorMessage(err);
        // Shown once the operation settles on `stopped`; the saved state, if not consumed, stays for another try.
        e.reason = msg.startsWith('start-failed') ? msg : `start-failed: ${msg}`;
        throw err;
      }
    });
    this.deps.log(`${name}: restored from its saved state`);
    return this.view(e);
  }

  /**
   * Stops a VM: ACPI power button, wait up to timeoutMs, then quit and SIGKILL (reason `forced`).
   * The wait happens outside the VM's lock, so a `--force` stop can overtake a graceful one.
   */
  async stop(name: string, req: StopRequest = {}): Promise<Vm> {
    const timeoutMs = req.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    // A force stop takes no lock and asks no monitor: whatever hangs elsewhere, it kills the proven pid.
    if (req.force) return this.forceStop(name, 'forced stop');
    this.refuse('stop', this.entry(name));
    const deadline = Date.now() + timeoutMs;
    const vm = await this.locked(name, async () => {
      const e = this.entry(name);
      if (!e.vm || e.state === 'stopped') {
        if (e.state === 'error' && this.processAlive(e)) return null;
        throw new BentoError('not-running', `${name} is not running`);
      }
      if (e.state !== 'stopping') {
        const wasPaused = e.state === 'paused';
        e.stopDeadline = new Date(deadline);
        this.setState(e, 'stopping', null);
        try {
          // A paused guest cannot see the power button; let it run so it can shut down cleanly.
          if (wasPaused) await e.vm.resume();
          await e.vm.requestStop();
        } catch (err) {
          this.deps.log(`${name}: could not press the power button (${errorMessage(err)}); forcing`);
          return null;
        }
      }
      return e.vm;
    });
    if (vm && (await this.waitFor(name, 'stopped', Math.max(0, deadline - Date.now())))) return this.get(name);
    return this.forceStop(name, `guest did not power off within ${timeoutMs} ms; forcing`);
  }

  /** Kills a VM's processes by their proven pids, tracked or not; resolves once they are gone. */
  private async forceStop(name: string, why: string): Promise<Vm> {
    const e = this.entry(name);
    if (!e.vm && !this.processAlive(e)) throw new BentoError('not-running', `${name} is not running`);
    this.deps.log(`${name}: ${why}`);
    if (e.vm) await e.vm.kill();
    const driver = this.driver(e.spec);
    if (driver.liveProcess(this.dir(name)).alive) await driver.killStray(this.dir(name));
    if (e.vm === null && e.state !== 'stopped') this.setState(e, 'stopped', 'forced');
    return this.get(name);
  }

  /** Whether any process of this VM is alive, asked of the processes themselves. */
  private processAlive(e: Entry): boolean {
    return this.driver(e.spec).liveProcess(this.dir(e.spec.name)).alive;
  }

  /** Pauses a running VM (QMP stop). */
  async pause(name: string): Promise<Vm> {
    this.refuse('pause', this.entry(name));
    return this.transition(name, 'running', 'pausing', (vm) => vm.pause());
  }

  /** Resumes a paused VM (QMP cont). */
  async resume(name: string): Promise<Vm> {
    this.refuse('resume', this.entry(name));
    // A guest whose state is saved must never run on: a later start would restore stale RAM over newer disks.
    if (savedStateInfo(vmFiles(this.dir(name)))) throw new BentoError('invalid-state', `${name} has a saved state; start it or start --discard first`);
    return this.transition(name, 'paused', 'resuming', (vm) => vm.resume());
  }

  /** Stops (gracefully, or forced) and starts again. */
  async restart(name: string, req: StopRequest = {}): Promise<Vm> {
    this.refuse('restart', this.entry(name));
    if (this.entry(name).vm) await this.stop(name, req);
    return this.start(name);
  }

  /** Deletes a VM and its folder; a running VM needs `force`, which kills it first. */
  async remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    if (this.deps.store.getCorrupt(name)) return this.removeCorrupt(name, opts.force === true);
    const e = this.entry(name);
    if (e.vm || this.processAlive(e)) {
      if (!opts.force) throw new BentoError('invalid-state', `${name} is ${e.state === 'stopped' ? 'running' : e.state}; stop it first or use --force`);
      await this.forceStop(name, 'deleting with --force');
    }
    await this.locked(name, async () => {
      const cur = this.entry(name);
      // Never delete the folder (and its disk) under a live process.
      if (cur.vm || this.processAlive(cur)) throw new BentoError('invalid-state', `${name} was started again while being deleted`);
      this.deps.store.remove(name);
      this.entries.delete(name);
      this.deps.log(`deleted ${name}`);
      this.changed({ kind: 'deleted', name });
    });
  }

  // --- Clone and rename (the copying in clone.ts) ---

  /**
   * Clones a stopped VM (without a saved state) under a new name: copies of its own disks, a new MAC,
   * a new seed for a cloud-init VM; snapshots, saved state and known_hosts are not carried. Nothing
   * of the clone is left if any step fails.
   */
  async clone(name: string, body: unknown): Promise<Vm> {
    const to = validateName((body as { name?: unknown } | null)?.name, this.deps.host);
    this.refuse('clone', this.entry(name));
    if (to === name || this.entries.has(to) || this.deps.store.getCorrupt(to)) throw new BentoError('already-exists', `a VM named "${to}" already exists`);
    const sshKeys = this.entry(name).spec.cloudInit ? ((await this.deps.ssh?.publicKeys()) ?? []) : [];
    return this.lockedBoth(name, to, async () => {
      const e = this.entry(name);
      this.refuse('clone', e);
      if (!this.quiet(e)) throw new BentoError('invalid-state', `${name} is ${e.state}: only a stopped VM can be cloned`);
      if (this.entries.has(to)) throw new BentoError('already-exists', `a VM named "${to}" already exists`);
      const srcDir = this.dir(name);
      const why = cloneDiskRefusal(e.spec, srcDir);
      if (why) throw why;
      const src = e.spec;
      const spec = cloneSpec(src, srcDir, to, this.dir(to));
      const final = await this.deps.store.create(spec, async (dir) => {
        await copyForClone(src, srcDir, spec, dir);
        if (spec.cloudInit) await writeSeedIso(vmFiles(dir).seed, seedFiles({ spec, sshKeys, userData: seedUserData(srcDir) }));
        return spec;
      });
      const entry: Entry = { spec: final, state: 'stopped', reason: null, vm: null, unsubscribe: null, stopDeadline: null, watch: null, progress: null, held: false, progressPushedAt: 0 };
      this.entries.set(to, entry);
      this.deps.log(`cloned ${name} as ${to}`);
      const vm = this.view(entry);
      this.changed({ kind: 'created', name: to, vm });
      return vm;
    });
  }

  /**
   * Renames a stopped VM: its folder moves (one rename(2)), vm.json names it anew, its pinned host
   * keys move to the new alias. The guest keeps its identity: the seed and hostname do not change.
   */
  async rename(name: string, body: unknown): Promise<Vm> {
    const to = validateName((body as { name?: unknown } | null)?.name, this.deps.host);
    this.refuse('rename', this.entry(name));
    if (to === name || this.entries.has(to) || this.deps.store.getCorrupt(to)) throw new BentoError('already-exists', `a VM named "${to}" already exists`);
    return this.lockedBoth(name, to, async () => {
      const e = this.entry(name);
      this.refuse('rename', e);
      if (!this.quiet(e)) throw new BentoError('invalid-state', `${name} is ${e.state}: only a stopped VM can be renamed`);
      if (this.entries.has(to)) throw new BentoError('already-exists', `a VM named "${to}" already exists`);
      const from = this.dir(name);
      // Another VM's definition pointing into this folder would lose its disk.
      for (const other of this.deps.store.list()) {
        if (other.name === name) continue;
        const d = other.disks.find((x) => x.path.startsWith(`${from}/`));
        if (d) throw new BentoError('invalid-state', `${name} cannot be renamed: VM "${other.name}" uses ${d.path} from its folder`);
      }
      const spec = renamedSpec(e.spec, from, to, this.dir(to));
      this.deps.store.rename(name, spec);
      renameKnownHosts(vmFiles(this.dir(to)).knownHosts, hostKeyAlias(name), hostKeyAlias(to));
      this.entries.delete(name);
      e.spec = spec;
      this.entries.set(to, e);
      this.deps.log(`renamed ${name} to ${to}`);
      this.changed({ kind: 'deleted', name });
      const vm = this.view(e);
      this.changed({ kind: 'created', name: to, vm });
      return vm;
    });
  }

  /** Runs `fn` under the locks of two VM names, taken in name order so two such calls never wait on each other. */
  private lockedBoth<T>(a: string, b: string, fn: () => Promise<T>): Promise<T> {
    const [first, second] = [a, b].sort();
    return this.locked(first!, () => this.locked(second!, fn));
  }

  // --- Snapshots (rules, records and listing in snapshots.ts; QMP jobs in drivers/qemu/snapshot-jobs.ts) ---

  /** The VM's snapshots, newest first, read from its disks (works while it runs). */
  async snapshots(name: string): Promise<Snapshot[]> {
    const e = this.entry(name);
    const store = this.driver(e.spec).snapshotStore;
    if (store) return store.list(e.spec, this.dir(name));
    const snapper = this.snapshotter(e);
    return (await listSnapshots(e.spec, (d) => snapper.list(d), this.files(name).snapshotsMeta)).snapshots;
  }

  /**
   * Takes a snapshot: disks and RAM of a running or paused VM (which carries on as it was), the
   * disks of a stopped one. The tag defaults to snap-YYYYMMDD-HHMMSS (UTC).
   */
  async snapshot(name: string, tag?: unknown): Promise<Snapshot> {
    if (tag !== undefined) checkTag(tag);
    this.refuse('snapshot', this.entry(name));
    return this.locked(name, async () => {
      const e = this.entry(name);
      const store = this.driver(e.spec).snapshotStore;
      if (store) return this.storeSnapshot(e, store, tag as string | undefined);
      const snapper = this.snapshotter(e);
      const refusal = snapshotRefusal(e.spec);
      if (refusal) throw refusal;
      const files = this.files(name);
      const list = (): ReturnType<typeof listSnapshots> => listSnapshots(e.spec, (d) => snapper.list(d), files.snapshotsMeta);
      const taken = new Set((await list()).snapshots.map((s) => s.tag));
      const t = (tag as string | undefined) ?? defaultTag(new Date(), taken);
      if (taken.has(t)) throw new BentoError('already-exists', `${name} already has a snapshot named ${t}`, { fields: [{ field: 'tag', message: 'is taken' }] });
      const disks = snapshotDisks(e.spec);
      const createdAt = new Date().toISOString();
      let state: SnapshotState;
      if (e.vm && (e.state === 'running' || e.state === 'paused')) {
        const vm = e.vm;
        const before = e.state;
        state = before;
        if (!vm.snapshotJob) throw new BentoError('unsupported', `the ${e.spec.backend} backend cannot take snapshots of a running VM`);
        await this.longOperation(e, 'saving', 'snapshot', (ctx) => vm.snapshotJob!('save', t, disks.map((d) => d.index), (p) => ctx.report(p)).catch((err: unknown) => {
          throw attempted(`snapshot ${t} of ${name}`, err);
        }), () => before);
      } else if (this.quiet(e)) {
        state = 'stopped';
        const made: string[] = [];
        try {
          for (const d of disks) {
            await snapper.create(d.disk.path, t);
            made.push(d.disk.path);
          }
        } catch (err) {
          // All or nothing: a tag in only some disks is no snapshot.
          for (const p of made) await snapper.remove(p, t).catch(() => undefined);
          throw attempted(`snapshot ${t} of ${name}`, err);
        }
      } else throw new BentoError('invalid-state', `${name} is ${e.state}; a snapshot needs it running, paused or stopped`);
      const after = await list();
      const made = after.snapshots.find((s) => s.tag === t);
      const first = after.disks[0]?.snapshots.find((s) => s.name === t);
      if (!made || !first) throw new BentoError('internal', `snapshot ${t} of ${name} is not in its disks after it was taken`);
      recordSnapshot(files.snapshotsMeta, { tag: t, createdAt, state, diskDateSec: first['date-sec'] }, after.disks);
      this.changed({ kind: 'changed', name, vm: this.view(e) });
      return { ...made, createdAt, state };
    });
  }

  /**
   * Returns a VM to a snapshot. A RAM snapshot brings it back running or paused as it was at that
   * instant (a stopped VM is started into it); a disk-only one reverts the disks of a stopped VM.
   */
  async restoreSnapshot(name: string, tag: unknown): Promise<Vm> {
    const t = checkTag(tag);
    return this.locked(name, async () => {
      const e = this.entry(name);
      const store = this.driver(e.spec).snapshotStore;
      if (store) return this.storeRestore(e, store, t);
      const snapper = this.snapshotter(e);
      const refusal = snapshotRefusal(e.spec);
      if (refusal) throw refusal;
      const files = this.files(name);
      if (fs.existsSync(files.savedState)) throw new BentoError('invalid-state', `${name} has a saved state; start it (or start --discard) first`);
      const snap = (await listSnapshots(e.spec, (d) => snapper.list(d), files.snapshotsMeta)).snapshots.find((s) => s.tag === t);
      if (!snap) throw new BentoError('not-found', `${name} has no snapshot named ${t}`);
      if (!snap.complete) throw new BentoError('invalid-state', `snapshot ${t} of ${name} is incomplete (some of its disks lack it); it can only be removed`);
      const disks = snapshotDisks(e.spec);
      const paused = snap.state === 'paused';
      const settled = (): VmState => (paused ? 'paused' : 'running');
      if (e.vm && (e.state === 'running' || e.state === 'paused')) {
        if (!snap.withRam) throw new BentoError('invalid-state', `${t} is a disk-only snapshot (taken while ${name} was stopped); stop ${name} first (bento stop ${name}), then restore it`);
        const vm = e.vm;
        if (!vm.snapshotJob) throw new BentoError('unsupported', `the ${e.spec.backend} backend cannot restore snapshots of a running VM`);
        await this.longOperation(e, 'restoring', 'snapshot-restore', async (ctx) => {
          await vm.snapshotJob!('load', t, disks.map((d) => d.index), (p) => ctx.report(p)).catch((err: unknown) => {
            throw attempted(`restore of snapshot ${t} of ${name}`, err);
          });
          // QEMU leaves the VM running or not as it was before the load; the snapshot says how it was then.
          if (paused) await vm.pause();
          else await vm.resume();
        }, settled);
      } else if (this.quiet(e) && snap.withRam) {
        await this.checkPublish(e.spec);
        await this.longOperation(e, 'restoring', 'snapshot-restore', async (ctx) => {
          try {
            this.attach(e, await this.driver(e.spec).start(e.spec, this.dir(name), { loadSnapshot: { tag: t, disks: disks.map((d) => d.index), paused }, onProgress: (p) => ctx.report(p) }));
          } catch (err) {
            // Shown as the stopped VM's reason once the operation settles.
            e.reason = `restore-failed: ${errorMessage(err)}`;
            throw attempted(`restore of snapshot ${t} of ${name}`, err);
          }
        }, settled);
      } else if (this.quiet(e)) {
        const reverted: string[] = [];
        for (const d of disks) {
          try {
            await snapper.apply(d.disk.path, t);
          } catch (err) {
            const done = reverted.length ? `; already reverted: ${reverted.join(', ')} (restore again to finish)` : '';
            throw attempted(`restore of snapshot ${t} of ${name}`, err, done);
          }
          reverted.push(d.disk.path);
        }
      } else throw new BentoError('invalid-state', `${name} is ${e.state}; a restore needs it running, paused or stopped`);
      this.deps.log(`${name}: restored snapshot ${t}`);
      const vm = this.view(e);
      this.changed({ kind: 'changed', name, vm });
      return vm;
    });
  }

  /** Removes a snapshot from every disk holding it (an incomplete one too). */
  async removeSnapshot(name: string, tag: unknown): Promise<void> {
    const t = checkTag(tag);
    await this.locked(name, async () => {
      const e = this.entry(name);
      const store = this.driver(e.spec).snapshotStore;
      if (store) return this.storeRemove(e, store, t);
      const snapper = this.snapshotter(e);
      const files = this.files(name);
      const { snapshots, disks } = await listSnapshots(e.spec, (d) => snapper.list(d), files.snapshotsMeta);
      if (!snapshots.some((s) => s.tag === t)) throw new BentoError('not-found', `${name} has no snapshot named ${t}`);
      const holders = disks.filter((d) => d.snapshots.some((s) => s.name === t)).map((d) => d.path);
      if (e.vm && (e.state === 'running' || e.state === 'paused')) {
        const vm = e.vm;
        if (!vm.snapshotJob) throw new BentoError('unsupported', `the ${e.spec.backend} backend cannot remove snapshots of a running VM`);
        const indexes = snapshotDisks(e.spec).filter((d) => holders.includes(d.disk.path)).map((d) => d.index);
        await vm.snapshotJob('delete', t, indexes).catch((err: unknown) => {
          throw attempted(`removal of snapshot ${t} of ${name}`, err);
        });
      } else if (this.quiet(e)) {
        for (const p of holders) await snapper.remove(p, t).catch((err: unknown) => {
          throw attempted(`removal of snapshot ${t} of ${name}`, err);
        });
      } else throw new BentoError('invalid-state', `${name} is ${e.state}; removing a snapshot needs it running, paused or stopped`);
      forgetSnapshot(files.snapshotsMeta, t, (await listSnapshots(e.spec, (d) => snapper.list(d), files.snapshotsMeta)).disks);
      this.deps.log(`${name}: removed snapshot ${t}`);
      this.changed({ kind: 'changed', name, vm: this.view(e) });
    });
  }

  // Per-VM snapshot stores (vz): the same rules and shown states, the backend's folder of clones.

  /** snapshot() for a backend with a VmSnapshotStore, under the VM's lock. */
  private async storeSnapshot(e: Entry, store: VmSnapshotStore, tag: string | undefined): Promise<Snapshot> {
    const name = e.spec.name;
    const live = e.vm !== null && (e.state === 'running' || e.state === 'paused');
    const refusal = snapshotRefusal(e.spec, { withRam: live, saveRestore: this.driver(e.spec).capabilities.saveRestore });
    if (refusal) throw refusal;
    const taken = new Set((await store.list(e.spec, this.dir(name))).map((s) => s.tag));
    const t = tag ?? defaultTag(new Date(), taken);
    if (taken.has(t)) throw new BentoError('already-exists', `${name} already has a snapshot named ${t}`, { fields: [{ field: 'tag', message: 'is taken' }] });
    const createdAt = new Date().toISOString();
    let made: Snapshot;
    if (live && e.vm) {
      const vm = e.vm;
      const before = e.state;
      made = await this.longOperation(e, 'saving', 'snapshot', (ctx) => store.create(e.spec, this.dir(name), t, { vm, paused: before === 'paused', createdAt, onProgress: (p) => ctx.report(p) }).catch((err: unknown) => {
        throw attempted(`snapshot ${t} of ${name}`, err);
      }), () => before);
    } else if (this.quiet(e)) {
      made = await store.create(e.spec, this.dir(name), t, { vm: null, paused: false, createdAt }).catch((err: unknown) => {
        throw attempted(`snapshot ${t} of ${name}`, err);
      });
    } else throw new BentoError('invalid-state', `${name} is ${e.state}; a snapshot needs it running, paused or stopped`);
    this.deps.log(`${name}: snapshot ${t} (${made.withRam ? `disks and RAM, ${made.state}` : 'disks'})`);
    this.changed({ kind: 'changed', name, vm: this.view(e) });
    return made;
  }

  /**
   * restoreSnapshot() for a backend with a VmSnapshotStore, under the VM's lock. A RAM snapshot of a
   * running VM cannot be loaded into it (vz): the VM is stopped and started into the snapshot.
   */
  private async storeRestore(e: Entry, store: VmSnapshotStore, t: string): Promise<Vm> {
    const name = e.spec.name;
    const files = this.files(name);
    if (fs.existsSync(files.savedState)) throw new BentoError('invalid-state', `${name} has a saved state; start it (or start --discard) first`);
    const snap = (await store.list(e.spec, this.dir(name))).find((s) => s.tag === t);
    if (!snap) throw new BentoError('not-found', `${name} has no snapshot named ${t}`);
    if (!snap.complete) throw new BentoError('invalid-state', `snapshot ${t} of ${name} was taken with other disks than ${name} has now; it can only be removed`);
    const refusal = snapshotRefusal(e.spec, { withRam: snap.withRam, saveRestore: this.driver(e.spec).capabilities.saveRestore });
    if (refusal) throw refusal;
    const live = e.vm !== null && (e.state === 'running' || e.state === 'paused');
    if (live && !snap.withRam) throw new BentoError('invalid-state', `${t} is a disk-only snapshot (taken while ${name} was stopped); stop ${name} first (bento stop ${name}), then restore it`);
    if (snap.withRam && (live || this.quiet(e))) {
      const paused = snap.state === 'paused';
      await this.checkPublish(e.spec);
      await this.longOperation(e, 'restoring', 'snapshot-restore', async (ctx) => {
        try {
          if (live) await this.stopForRestore(e);
          const disks = snapshotDisks(e.spec).map((d) => d.index);
          this.attach(e, await this.driver(e.spec).start(e.spec, this.dir(name), { loadSnapshot: { tag: t, disks, paused }, onProgress: (p) => ctx.report(p) }));
        } catch (err) {
          e.reason = `restore-failed: ${errorMessage(err)}`;
          throw attempted(`restore of snapshot ${t} of ${name}`, err);
        }
      }, () => (paused ? 'paused' : 'running'));
    } else if (!live && this.quiet(e)) {
      await store.revertDisks(e.spec, this.dir(name), t).catch((err: unknown) => {
        throw attempted(`restore of snapshot ${t} of ${name}`, err);
      });
    } else throw new BentoError('invalid-state', `${name} is ${e.state}; a restore needs it running, paused or stopped`);
    this.deps.log(`${name}: restored snapshot ${t}`);
    const vm = this.view(e);
    this.changed({ kind: 'changed', name, vm });
    return vm;
  }

  /**
   * Ends a running VM that a restore replaces: its events are let go first, so the VM shows
   * `restoring` throughout rather than a `stopped` in between; resolves once its processes are gone.
   */
  private async stopForRestore(e: Entry): Promise<void> {
    const vm = e.vm;
    e.unsubscribe?.();
    e.unsubscribe = null;
    e.vm = null;
    e.watch?.stop();
    e.watch = null;
    await vm?.kill();
    const driver = this.driver(e.spec);
    if (driver.liveProcess(this.dir(e.spec.name)).alive) await driver.killStray(this.dir(e.spec.name));
  }

  /** removeSnapshot() for a backend with a VmSnapshotStore (the folder goes; the VM may run). */
  private async storeRemove(e: Entry, store: VmSnapshotStore, t: string): Promise<void> {
    const name = e.spec.name;
    if (!(await store.list(e.spec, this.dir(name))).some((s) => s.tag === t)) throw new BentoError('not-found', `${name} has no snapshot named ${t}`);
    await store.remove(e.spec, this.dir(name), t).catch((err: unknown) => {
      throw attempted(`removal of snapshot ${t} of ${name}`, err);
    });
    this.deps.log(`${name}: removed snapshot ${t}`);
    this.changed({ kind: 'changed', name, vm: this.view(e) });
  }

  /** The backend's disk snapshots, or `unsupported` naming why. */
  private snapshotter(e: Entry): DiskSnapshotter {
    const s = this.driver(e.spec).diskSnapshots;
    if (!s) throw snapshotRefusal(e.spec) ?? new BentoError('unsupported', `the ${e.spec.backend} backend keeps no snapshots`);
    return s;
  }

  /** Whether a VM is stopped with no process of it alive (asked of the processes): its disks may be changed offline. */
  private quiet(e: Entry): boolean {
    if (e.state !== 'stopped' || e.vm) return false;
    if (this.processAlive(e)) throw new BentoError('invalid-state', `${e.spec.name} has a qemu process alive that bentod does not drive; bento stop --force ${e.spec.name} kills it`);
    return true;
  }

  private files(name: string): ReturnType<typeof vmFiles> {
    return vmFiles(this.dir(name));
  }

  /** Every VM with a live backend handle now (running, paused, or mid-operation), for the stats sampler. */
  runningVms(): Array<{ name: string; vm: RunningVm }> {
    const out: Array<{ name: string; vm: RunningVm }> = [];
    for (const [name, e] of this.entries) if (e.vm) out.push({ name, vm: e.vm });
    return out;
  }

  /** The console stream of a running VM, or null when it is not running or has none. */
  consoleEndpoint(name: string): ConsoleEndpoint | null {
    return this.entry(name).vm?.console() ?? null;
  }

  /** Lets go of every VM without stopping any (bentod is exiting). */
  close(): void {
    for (const e of this.entries.values()) {
      e.unsubscribe?.();
      e.watch?.stop();
      e.vm?.detach();
    }
  }

  private async transition(name: string, from: VmState, via: VmState, act: (vm: RunningVm) => Promise<void>): Promise<Vm> {
    return this.locked(name, async () => {
      const e = this.entry(name);
      if (!e.vm) throw new BentoError('not-running', `${name} is not running`);
      if (e.state !== from) throw new BentoError('invalid-state', `${name} is ${e.state}, not ${from}`);
      const vm = e.vm;
      this.setState(e, via, null);
      try {
        await act(vm);
      } finally {
        // The QMP event normally settles the state; ask if it has not arrived yet (or the act
        // failed). A VM that answers neither is shown as unresponsive; the act's own error is
        // what the caller gets.
        if (e.vm === vm && e.state === via) {
          try {
            this.setState(e, await vm.queryState(), null);
          } catch (err) {
            this.setState(e, 'error', `unresponsive: ${errorMessage(err)} (bento stop --force kills it)`);
          }
        }
      }
      return this.view(e);
    });
  }

  /**
   * Runs a long operation on a VM under its lock's caller: the VM shows `via` (saving, restoring)
   * and the operation's progress while `act` runs, the backend's own pause/resume events in between
   * are held back, and afterwards the VM shows what the backend says it is (or `stopped` if it
   * exited). `act` may return the state to show instead of asking the backend.
   */
  private async longOperation<T>(e: Entry, via: VmState, op: VmOperation, act: (ctx: OperationContext) => Promise<T>, after?: (result: T) => VmState | null): Promise<T> {
    e.progress = { op, doneBytes: null, totalBytes: null, percent: null, startedAt: new Date().toISOString() };
    e.progressPushedAt = 0;
    e.held = true;
    this.setState(e, via, null);
    const ctx: OperationContext = {
      report: (p) => {
        if (!e.progress) return;
        e.progress = { ...e.progress, ...p };
        const now = Date.now();
        if (now - e.progressPushedAt < PROGRESS_PUSH_MS) return;
        e.progressPushedAt = now;
        this.changed({ kind: 'changed', name: e.spec.name, vm: this.view(e) });
      },
    };
    let result: T;
    try {
      result = await act(ctx);
    } catch (err) {
      e.held = false;
      e.progress = null;
      await this.settleState(e, via, null);
      this.progressEnded(e);
      throw err;
    }
    e.held = false;
    e.progress = null;
    await this.settleState(e, via, after ? after(result) : null);
    this.progressEnded(e);
    return result;
  }

  /**
   * Tells clients the operation is over: the last view they got (with a state event pushed while it
   * ran, e.g. `stopped` when a suspended qemu quit) may still carry its progress.
   */
  private progressEnded(e: Entry): void {
    if (this.entries.get(e.spec.name) === e) this.changed({ kind: 'changed', name: e.spec.name, vm: this.view(e) });
  }

  /** After a long operation: shows the given state, or the backend's, unless the VM already moved on (it stopped). */
  private async settleState(e: Entry, via: VmState, state: VmState | null): Promise<void> {
    if (e.state !== via) return;
    if (state) return this.setState(e, state, null);
    if (!e.vm) return this.setState(e, 'stopped', e.reason);
    try {
      this.setState(e, await e.vm.queryState(), null);
    } catch (err) {
      this.setState(e, 'error', `unresponsive: ${errorMessage(err)} (bento stop --force kills it)`);
    }
  }

  private attach(e: Entry, vm: RunningVm): void {
    e.vm = vm;
    e.unsubscribe = vm.onEvent((ev) => {
      if (e.held && ev.state !== 'stopped') return;
      if (ev.state === 'stopped') {
        e.unsubscribe?.();
        e.vm = null;
        e.unsubscribe = null;
        e.stopDeadline = null;
        e.watch?.stop();
        e.watch = null;
      }
      this.setState(e, ev.state, ev.reason);
    });
    e.watch?.stop();
    e.watch = null;
    if (vm.sshPort) {
      const name = e.spec.name;
      e.watch = new GuestWatch({
        files: vmFiles(this.dir(name)),
        sshPort: vm.sshPort,
        seeded: e.spec.cloudInit !== null,
        hostKeyAlias: hostKeyAlias(name),
        onChange: () => {
          if (this.entries.get(name) !== e) return;
          const view = this.view(e);
          this.deps.log(`${name}: ${view.ready ? 'guest is ready' : 'guest changed'}`);
          this.changed({ kind: 'changed', name, vm: view });
        },
        log: (line) => this.deps.log(`${name}: ${line}`),
      });
    }
  }

  /** Applies a new publish list to a running VM without a restart: forwards are removed and added live. */
  private async patchForwards(e: Entry, body: unknown): Promise<Vm> {
    const next = applyPatch(e.spec, body, this.deps.host);
    const vm = e.vm;
    if (!vm?.updateForwards) throw new BentoError('unsupported', `the ${e.spec.backend} backend cannot change forwards while ${e.spec.name} runs; stop it first`);
    if (e.spec.network === 'none') throw new BentoError('invalid-state', `${e.spec.name} has no network; publish needs one`);
    const key = (f: PortForward): string => formatPublish(f);
    const before = new Set(e.spec.publish.map(key));
    const after = new Set(next.publish.map(key));
    const add = next.publish.filter((f) => !before.has(key(f)));
    const remove = e.spec.publish.filter((f) => !after.has(key(f)));
    // A port this VM forwards already (to another guest port) is freed by the removal first.
    const problems = await publishProblems(add.filter((f) => !remove.some((r) => r.hostPort === f.hostPort && r.protocol === f.protocol)));
    if (problems.length) throw new BentoError('invalid-input', problems.join('; '), { fields: [{ field: 'publish', message: problems.join('; ') }] });
    await vm.updateForwards(add, remove);
    e.spec = next;
    this.deps.store.write(e.spec);
    const view = this.view(e);
    this.changed({ kind: 'changed', name: e.spec.name, vm: view });
    return view;
  }

  /** Refuses a start whose forwarded host ports cannot be bound, naming each port and why. */
  private async checkPublish(spec: VmSpec): Promise<void> {
    if (spec.network === 'none') return;
    const problems = await publishProblems(spec.publish);
    if (problems.length) throw new BentoError('start-failed', `start-failed: ${problems.join('; ')}`);
  }

  /** How to SSH into a running VM, or null when it has no forwarded SSH port. */
  private sshEndpoint(e: Entry): SshEndpoint | null {
    const port = e.vm?.sshPort;
    if (!port) return null;
    const files = vmFiles(this.dir(e.spec.name));
    const alias = hostKeyAlias(e.spec.name);
    return {
      host: '127.0.0.1',
      port,
      user: e.spec.cloudInit?.user ?? null,
      identityFile: this.deps.ssh?.identityFile ?? '',
      knownHostsFile: files.knownHosts,
      hostKeyAlias: alias,
      hostKeysPinned: e.watch?.hostKeysPinned ?? readKnownHosts(files.knownHosts, alias).length > 0,
    };
  }

  private setState(e: Entry, state: VmState, reason: string | null): void {
    if (e.state === state && e.reason === reason) return;
    const ev: StateEvent = { name: e.spec.name, state, previous: e.state, reason, at: new Date().toISOString() };
    e.state = state;
    e.reason = reason;
    if (state !== 'stopping') e.stopDeadline = null;
    const files = vmFiles(this.dir(e.spec.name));
    appendEvent(files.events, ev);
    // Pushed with the whole VM, so a client shows the new pid, deadline or reason without a request.
    ev.vm = this.view(e);
    const rec = readRuntime(files.state);
    if (rec) {
      try {
        writeRuntime(files.state, { ...rec, reason });
      } catch (err) {
        this.deps.log(`${e.spec.name}: cannot write ${files.state}: ${errorMessage(err)}`);
      }
    }
    this.listeners.emit(ev);
  }

  private waitFor(name: string, state: VmState, timeoutMs: number): Promise<boolean> {
    if (this.entries.get(name)?.state === state) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const off = this.onState((ev) => ev.name === name && ev.state === state && done(true));
      function done(ok: boolean): void {
        clearTimeout(timer);
        off();
        resolve(ok);
      }
    });
  }

  private view(e: Entry): Vm {
    const driver = this.driver(e.spec);
    return {
      name: e.spec.name,
      backend: e.spec.backend,
      state: e.state,
      reason: e.reason,
      accel: e.vm?.accel ?? driver.resolveAccel(e.spec),
      cpus: e.spec.cpus,
      memoryMiB: e.spec.memoryMiB,
      pid: e.vm?.pid ?? null,
      startedAt: e.vm ? e.vm.startedAt.toISOString() : null,
      spec: e.spec,
      dir: this.dir(e.spec.name),
      stopDeadline: e.stopDeadline?.toISOString() ?? null,
      ssh: this.sshEndpoint(e),
      // Without a seed nothing says an SSH server is coming (a kernel VM may have none): such a
      // guest is shown ready once one answers, and as nothing (not `booting`) until then.
      ready: e.watch ? (e.watch.ready || (e.spec.cloudInit ? false : null)) : null,
      progress: e.progress,
      // Only a VM that is not running can have one (it is consumed before a restored guest runs).
      savedState: e.state === 'running' ? null : savedStateInfo(vmFiles(this.dir(e.spec.name))),
      host: 'local',
      reachable: true,
      libvirt: null,
    };
  }

  /** Throws the one table's refusal (src/vm/actions.ts) when `action` does not fit the VM as it is now. */
  private refuse(action: VmAction, e: Entry): void {
    const why = refusal(action, this.view(e));
    if (why) throw new BentoError(why.code, why.message);
  }

  private entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) {
      const broken = this.deps.store.getCorrupt(name);
      if (broken) throw corruptRefusal(broken);
      throw new BentoError('not-found', `no VM named "${name}"`);
    }
    return e;
  }

  // --- VMs whose vm.json is broken (kept by the store apart from the live entries) ---

  private corruptVms(): Vm[] {
    return this.deps.store.listCorrupt().map((c) => corruptView(c));
  }

  /**
   * Reads the format of the disk a request names, before validation, so validation itself stays
   * synchronous and no child process ever blocks bentod; a read error surfaces only if validation
   * gets as far as asking for the format.
   */
  private async formatsOf(body: unknown): Promise<(p: string) => DiskFormat> {
    const req = (typeof body === 'object' && body !== null ? body : {}) as { disk?: unknown; diskFormat?: unknown };
    const known = new Map<string, DiskFormat | { error: unknown }>();
    if (typeof req.disk === 'string' && req.diskFormat === undefined && req.disk !== '') {
      known.set(
        req.disk,
        await Promise.resolve()
          .then(() => this.deps.detectFormat(req.disk as string))
          .catch((error: unknown) => ({ error })),
      );
    }
    return (p) => {
      const f = known.get(p);
      if (f === undefined) throw new BentoError('internal', `disk format of ${p} was not read before validation`);
      if (typeof f === 'object') throw f.error;
      return f;
    };
  }

  private corruptVm(name: string): Vm | null {
    const c = this.deps.store.getCorrupt(name);
    return c ? corruptView(c) : null;
  }

  /** A PATCH of a broken VM must carry a complete definition (the create fields, less name and diskSize). */
  private async repairCorrupt(name: string, body: unknown): Promise<Vm> {
    const broken = this.deps.store.getCorrupt(name);
    const spec = validateRepair(name, body, this.deps.host, await this.formatsOf(body), this.dir(name), broken?.partial);
    this.deps.store.repair(spec);
    const entry: Entry = { spec, state: 'stopped', reason: null, vm: null, unsubscribe: null, stopDeadline: null, watch: null, progress: null, held: false, progressPushedAt: 0 };
    this.entries.set(name, entry);
    this.deps.log(`${name}: broken definition replaced`);
    const vm = this.view(entry);
    this.changed({ kind: 'changed', name, vm });
    return vm;
  }

  private async removeCorrupt(name: string, force: boolean): Promise<void> {
    await this.locked(name, async () => {
      if (!this.deps.store.getCorrupt(name)) throw new BentoError('not-found', `no VM named "${name}"`);
      const dir = this.dir(name);
      // Its backend is unknown (the definition is broken): every driver is asked about the folder.
      const drivers = Object.values(this.deps.drivers);
      const alive = (): { pid: number | null } | undefined => drivers.map((d) => d.liveProcess(dir)).find((p) => p.alive);
      const found = alive();
      if (found && !force) {
        throw new BentoError('invalid-state', `${name} cannot be deleted: a process of it (pid ${found.pid ?? 'unknown'}) still runs from ${dir} and its definition is broken; bento rm --force ${name} kills it first`);
      }
      if (found) {
        for (const d of drivers) await d.killStray(dir);
        if (alive()) throw new BentoError('invalid-state', `${name}: its processes did not exit; nothing was deleted`);
      }
      // It owns nothing we can prove besides its folder: disks outside it are left alone.
      this.deps.store.remove(name);
      this.deps.log(`deleted ${name} (its definition was broken)`);
      this.changed({ kind: 'deleted', name });
    });
  }

  private driver(spec: VmSpec): Driver {
    const d = this.deps.drivers[spec.backend];
    if (!d) throw new BentoError('unsupported', `backend ${spec.backend} is not available in this bentod`);
    return d;
  }

  private dir(name: string): string {
    return vmDir(this.deps.store.home, name);
  }

  private locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    let m = this.locks.get(name);
    if (!m) this.locks.set(name, (m = new Mutex()));
    return m.runExclusive(fn);
  }
}

/** Prefixes a failure with what was attempted, keeping its code. */
function attempted(what: string, err: unknown, tail = ''): BentoError {
  const code = err instanceof BentoError ? err.code : 'internal';
  return new BentoError(code, `${what} failed: ${errorMessage(err)}${tail}`, { cause: err });
}
