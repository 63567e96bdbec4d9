import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { BentoError, type ErrorCode, type FieldError } from '../vm/errors.js';
import type { ImageList, ImageView, PullProgress, PullResult } from '../vm/images/types.js';
import type { CreateRequest, Disposer, HostEvent, HostInfo, Snapshot, StartRequest, StateEvent, StatsEvent, StatsReport, StopRequest, VersionInfo, Vm, VmChange } from '../vm/types.js';

/** Options of a raw request. */
interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Deadline for the whole exchange; Infinity for none (the caller watches liveness itself). */
  timeoutMs?: number;
  /** Aborting ends the request with a `cancelled` error (or the signal's reason, when a BentoError). */
  signal?: AbortSignal;
}

/** How long an ordinary request may take before the client gives up on bentod. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** `start` waits for qemu to come up (and, for vz, the helper): it may take this long. */
export const START_TIMEOUT_MS = 70_000;
/** Writing or reading a saved state goes at disk speed; this bounds even a VM with very much RAM. */
export const SAVE_TIMEOUT_MS = 30 * 60_000;
/** Added to a stop's own guest timeout: the forced stop that follows it, and the reply. */
export const STOP_MARGIN_MS = 15_000;
/** The longest a create that pulls its image may take. */
export const IMAGE_PULL_TIMEOUT_MS = 2 * 3600_000;
/** Saving or loading a snapshot writes or reads the whole RAM (and a stopped VM is started into it). */
export const SNAPSHOT_TIMEOUT_MS = 30 * 60_000;
/** bentod's default graceful stop wait, when the request names none. */
const DEFAULT_STOP_WAIT_MS = 30_000;
/** bentod sends an SSE comment every 5 s; this much silence on /api/events means it is dead or stuck. */
export const EVENTS_SILENCE_MS = 15_000;
/** A pull has no deadline (it may take many minutes); bentod is asked for /api/version this often meanwhile. */
export const PULL_PROBE_MS = 5_000;

/** Handlers for a live event subscription. */
export interface EventHandlers {
  onEvent(ev: StateEvent): void;
  onSnapshot?(vms: Vm[]): void;
  /** A VM was created, changed or deleted (by any client). */
  onChange?(ev: VmChange): void;
  /** Progress of an image pull (any client's), about four a second per pull. */
  onImage?(p: PullProgress): void;
  /** bentod dropped events this slow reader had not taken: re-read the list (GET /api/vms). */
  onResync?(): void;
  /** Live figures of the running VMs, once a second (only when subscribed with `stats: true`). */
  onStats?(ev: StatsEvent): void;
  /** A host was added, changed its connection state, or was removed. */
  onHost?(ev: HostEvent): void;
  /** The stream ended (bentod went away or went silent); not called after close(). */
  onEnd?(err: BentoError | null): void;
}

function stopWait(req: StopRequest): number {
  return (req.force ? 0 : (req.timeoutMs ?? DEFAULT_STOP_WAIT_MS)) + STOP_MARGIN_MS;
}

/** The typed client the CLI and the TUI use to talk to bentod over its Unix socket. */
export class BentoClient {
  /** bentod's pid file, read to name the daemon in a timeout message. */
  readonly pidFile: string;

  constructor(
    readonly socket: string,
    opts: { pidFile?: string } = {},
  ) {
    this.pidFile = opts.pidFile ?? path.join(path.dirname(socket), 'bentod.pid');
  }

  /** The one-line error for a bentod that did not answer in time (pid from bentod.pid when readable). */
  timeoutError(ms: number): BentoError {
    let pid = '';
    try {
      const n = Number(fs.readFileSync(this.pidFile, 'utf8').trim());
      if (Number.isSafeInteger(n) && n > 0) pid = ` (pid ${n})`;
    } catch {
      // no pid file: name the daemon without it
    }
    return new BentoError('timeout', `bentod${pid} did not answer in ${Math.round(ms / 100) / 10} s`);
  }

  private unreachable(err: unknown): BentoError {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return new BentoError('daemon-unavailable', `cannot reach bentod at ${this.socket} (${code || (err as Error).message})`, { cause: err });
  }

  /**
   * One request; resolves with the parsed JSON (undefined for 204), rejects with the API's error.
   * The whole exchange, not just idle time, is bounded by timeoutMs (default 10 s).
   */
  request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<T>((resolveOuter, rejectOuter) => {
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            req.destroy();
            reject(this.timeoutError(timeoutMs));
          }, timeoutMs)
        : null;
      const onAbort = (): void => {
        req.destroy();
        const why: unknown = opts.signal?.reason;
        reject(why instanceof BentoError ? why : new BentoError('cancelled', `${opts.method ?? 'GET'} ${path}: cancelled`));
      };
      const done = (): void => {
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const resolve = (v: T): void => {
        done();
        resolveOuter(v);
      };
      const reject = (e: unknown): void => {
        done();
        rejectOuter(e);
      };
      const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
      const req = http.request(
        {
          socketPath: this.socket,
          path,
          method: opts.method ?? 'GET',
          headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(this.unreachable(err)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let data: unknown;
            try {
              data = text ? JSON.parse(text) : undefined;
            } catch {
              reject(new BentoError('internal', `bentod sent a reply that is not JSON (status ${status})`));
              return;
            }
            if (status >= 200 && status < 300) resolve(data as T);
            else {
              const e = (data as { error?: { code: ErrorCode; message: string; fields?: FieldError[] } } | undefined)?.error;
              reject(new BentoError(e?.code ?? 'internal', e?.message ?? `bentod answered ${status}`, e?.fields ? { fields: e.fields } : {}));
            }
          });
        },
      );
      req.on('error', (err) => reject(this.unreachable(err)));
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      req.end(payload);
    });
  }

  version(): Promise<VersionInfo> {
    return this.request('/api/version');
  }
  list(): Promise<Vm[]> {
    return this.request('/api/vms');
  }
  /** One VM; `timeoutMs` lets a caller that is about to wait longer anyway (start) give it that long. */
  get(name: string, opts: { timeoutMs?: number } = {}): Promise<Vm> {
    return this.request(`/api/vms/${encodeURIComponent(name)}`, { timeoutMs: opts.timeoutMs });
  }
  inspect(name: string): Promise<Record<string, unknown>> {
    return this.request(`/api/vms/${encodeURIComponent(name)}/inspect`);
  }
  create(req: CreateRequest): Promise<Vm> {
    // A new disk is made with qemu-img first; an image that is not cached yet is pulled first (minutes).
    return this.request('/api/vms', { method: 'POST', body: req, timeoutMs: req.image ? IMAGE_PULL_TIMEOUT_MS : 30_000 });
  }
  patch(name: string, body: Record<string, unknown>): Promise<Vm> {
    return this.request(`/api/vms/${encodeURIComponent(name)}`, { method: 'PATCH', body });
  }
  remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.request(`/api/vms/${encodeURIComponent(name)}${opts.force ? '?force=1' : ''}`, {
      method: 'DELETE',
      timeoutMs: opts.force ? stopWait({ force: true }) + DEFAULT_TIMEOUT_MS : DEFAULT_TIMEOUT_MS,
    });
  }
  /**
   * Starts a VM; one with a saved state resumes from it unless `discard`. The deadline is a start's,
   * plus a save's when the caller knows a saved state is to be restored (`restoring`: that may take a
   * while), so a stuck bentod still fails an ordinary start within START_TIMEOUT_MS.
   */
  start(name: string, req: StartRequest = {}, opts: { restoring?: boolean } = {}): Promise<Vm> {
    return this.action(name, 'start', req, START_TIMEOUT_MS + (opts.restoring && !req.discard ? SAVE_TIMEOUT_MS : 0));
  }
  /** Suspends a running or paused VM to disk; resolves once its state is saved and it has stopped. */
  suspend(name: string): Promise<Vm> {
    return this.action(name, 'suspend', {}, SAVE_TIMEOUT_MS);
  }
  stop(name: string, req: StopRequest = {}): Promise<Vm> {
    return this.action(name, 'stop', req, stopWait(req));
  }
  pause(name: string): Promise<Vm> {
    return this.action(name, 'pause');
  }
  resume(name: string): Promise<Vm> {
    return this.action(name, 'resume');
  }
  restart(name: string, req: StopRequest = {}): Promise<Vm> {
    return this.action(name, 'restart', req, stopWait(req) + START_TIMEOUT_MS);
  }
  /** Clones a stopped VM under a new name (its disks are copied: this may take a while). */
  clone(name: string, newName: string): Promise<Vm> {
    return this.action(name, 'clone', { name: newName }, SAVE_TIMEOUT_MS);
  }
  /** Renames a stopped VM. */
  rename(name: string, newName: string): Promise<Vm> {
    return this.action(name, 'rename', { name: newName });
  }
  /** Every running VM's last sample, its last minute of samples and notes (fresh ones when nobody subscribes). */
  stats(): Promise<StatsReport> {
    return this.request<StatsReport>('/api/stats');
  }
  /** The VM's snapshots, newest first. */
  snapshots(name: string): Promise<Snapshot[]> {
    return this.request(`/api/vms/${encodeURIComponent(name)}/snapshots`, { timeoutMs: 60_000 });
  }
  /** Takes a snapshot (disks and RAM when the VM runs); the tag defaults to snap-YYYYMMDD-HHMMSS. */
  snapshot(name: string, tag?: string): Promise<Snapshot> {
    return this.request(`/api/vms/${encodeURIComponent(name)}/snapshots`, { method: 'POST', body: tag === undefined ? {} : { tag }, timeoutMs: SNAPSHOT_TIMEOUT_MS });
  }
  /** Returns the VM to a snapshot (running or paused as it was, for one with RAM). */
  restoreSnapshot(name: string, tag: string): Promise<Vm> {
    return this.request(`/api/vms/${encodeURIComponent(name)}/snapshots/${encodeURIComponent(tag)}/restore`, { method: 'POST', body: {}, timeoutMs: SNAPSHOT_TIMEOUT_MS });
  }
  /** Removes a snapshot from every disk of the VM. */
  removeSnapshot(name: string, tag: string): Promise<void> {
    return this.request(`/api/vms/${encodeURIComponent(name)}/snapshots/${encodeURIComponent(tag)}`, { method: 'DELETE', timeoutMs: SNAPSHOT_TIMEOUT_MS });
  }
  private action(name: string, verb: string, body: object = {}, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Vm> {
    return this.request(`/api/vms/${encodeURIComponent(name)}/${verb}`, { method: 'POST', body, timeoutMs });
  }

  /** Every host: `local` first, then the configured libvirt hosts by name, each with its connection state. */
  hosts(): Promise<HostInfo[]> {
    return this.request('/api/hosts');
  }
  /** Adds a libvirt host (kept in the preferences); bentod connects to it in the background. */
  addHost(name: string, uri: string): Promise<HostInfo> {
    return this.request('/api/hosts', { method: 'POST', body: { name, uri } });
  }
  /** Removes a host: bentod closes its connection and its VMs leave the list (the domains are untouched). */
  removeHost(name: string): Promise<void> {
    return this.request(`/api/hosts/${encodeURIComponent(name)}`, { method: 'DELETE' });
  }

  /** Cached images (with the VMs using each) and the catalog (with what is cached). */
  images(): Promise<ImageList> {
    return this.request('/api/images');
  }
  /** One cached image by reference or sha256 prefix. */
  image(ref: string): Promise<ImageView> {
    return this.request(`/api/images/${encodeURIComponent(ref)}`);
  }
  /**
   * Pulls an image through bentod and resolves when it is cached (progress arrives on events() as
   * onImage). A pull may take many minutes, so it has no deadline; instead bentod is probed every
   * PULL_PROBE_MS and a probe that fails ends the pull with its error. Aborting `signal` ends it
   * too, and bentod stops the download when no other client shares it (the part stays for a resume).
   */
  async pullImage(ref: string, opts: { force?: boolean; vm?: string; signal?: AbortSignal; probe?: { everyMs: number; timeoutMs: number } } = {}): Promise<PullResult> {
    const stop = new AbortController();
    const outer = (): void => stop.abort(opts.signal?.reason);
    if (opts.signal?.aborted) outer();
    opts.signal?.addEventListener('abort', outer, { once: true });
    let busy = false;
    const probe = setInterval(() => {
      if (busy) return;
      busy = true;
      this.request('/api/version', { timeoutMs: opts.probe?.timeoutMs ?? DEFAULT_TIMEOUT_MS }).then(
        () => (busy = false),
        (err: unknown) => stop.abort(err instanceof BentoError ? err : this.unreachable(err)),
      );
    }, opts.probe?.everyMs ?? PULL_PROBE_MS);
    try {
      return await this.request<PullResult>('/api/images/pull', { method: 'POST', body: { image: ref, ...(opts.force ? { force: true } : {}), ...(opts.vm ? { vm: opts.vm } : {}) }, timeoutMs: Infinity, signal: stop.signal });
    } finally {
      clearInterval(probe);
      opts.signal?.removeEventListener('abort', outer);
    }
  }
  /** Removes a cached image; refused with `image-in-use` while a VM is based on it. */
  removeImage(ref: string): Promise<void> {
    return this.request(`/api/images/${encodeURIComponent(ref)}`, { method: 'DELETE' });
  }

  /**
   * Opens a raw streaming GET (the serial log); the caller reads and destroys the response. The
   * response headers must arrive within timeoutMs; after that the stream has no deadline.
   */
  stream(path: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<http.IncomingMessage> {
    return new Promise((resolveOuter, rejectOuter) => {
      const timer = setTimeout(() => {
        req.destroy();
        rejectOuter(this.timeoutError(timeoutMs));
      }, timeoutMs);
      const resolve = (res: http.IncomingMessage): void => {
        clearTimeout(timer);
        resolveOuter(res);
      };
      const reject = (e: unknown): void => {
        clearTimeout(timer);
        rejectOuter(e);
      };
      const req = http.get({ socketPath: this.socket, path }, (res) => {
        if ((res.statusCode ?? 0) < 300) return resolve(res);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let e: { code: ErrorCode; message: string } | undefined;
          try {
            e = (JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { error?: { code: ErrorCode; message: string } }).error;
          } catch {
            e = undefined;
          }
          reject(new BentoError(e?.code ?? 'internal', e?.message ?? `bentod answered ${res.statusCode}`));
        });
      });
      req.on('error', (err) => reject(this.unreachable(err)));
    });
  }

  /**
   * Subscribes to /api/events (server-sent events); returns a disposer that closes the stream. bentod
   * sends a comment every 5 s, so silence for EVENTS_SILENCE_MS ends the stream with a timeout error.
   */
  async events(handlers: EventHandlers, opts: { snapshot?: boolean; stats?: boolean; silenceMs?: number } = {}): Promise<Disposer> {
    const query = [opts.snapshot ? 'snapshot=1' : '', opts.stats ? 'stats=1' : ''].filter(Boolean).join('&');
    const res = await this.stream(`/api/events${query ? `?${query}` : ''}`);
    const silenceMs = opts.silenceMs ?? EVENTS_SILENCE_MS;
    let closed = false;
    let buf = '';
    let watchdog: NodeJS.Timeout | null = null;
    const arm = (): void => {
      if (watchdog) clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        end(this.timeoutError(silenceMs));
        res.destroy();
      }, silenceMs);
    };
    arm();
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      arm();
      buf += chunk;
      let idx: number;
      while ((idx = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, idx);
        buf = buf.slice(idx + 2);
        let type = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) type = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        }
        if (type === 'resync') {
          handlers.onResync?.();
          continue;
        }
        if (!data.length) continue;
        const value = JSON.parse(data.join('\n')) as unknown;
        if (type === 'snapshot') handlers.onSnapshot?.(value as Vm[]);
        else if (type === 'created' || type === 'changed' || type === 'deleted') handlers.onChange?.(value as VmChange);
        else if (type === 'image') handlers.onImage?.(value as PullProgress);
        else if (type === 'stats') handlers.onStats?.(value as StatsEvent);
        else if (type === 'host') handlers.onHost?.(value as HostEvent);
        else if (type === 'message') handlers.onEvent(value as StateEvent);
      }
    });
    const end = (err: Error | null): void => {
      if (watchdog) clearTimeout(watchdog);
      if (closed) return;
      closed = true;
      handlers.onEnd?.(err instanceof BentoError ? err : err ? this.unreachable(err) : null);
    };
    res.on('end', () => end(null));
    res.on('error', (err) => end(err));
    res.on('close', () => end(null));
    return () => {
      closed = true;
      if (watchdog) clearTimeout(watchdog);
      res.destroy();
    };
  }
}
