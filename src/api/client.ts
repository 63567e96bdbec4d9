import http from 'node:http';
import { BentoError, type ErrorCode, type FieldError } from '../vm/errors.js';
import type { CreateRequest, Disposer, StateEvent, StopRequest, VersionInfo, Vm, VmChange } from '../vm/types.js';

/** Options of a raw request. */
interface RequestOptions {
  method?: string;
  body?: unknown;
  timeoutMs?: number;
}

/** Handlers for a live event subscription. */
export interface EventHandlers {
  onEvent(ev: StateEvent): void;
  onSnapshot?(vms: Vm[]): void;
  /** A VM was created, changed or deleted (by any client). */
  onChange?(ev: VmChange): void;
  /** The stream ended (bentod went away); not called after close(). */
  onEnd?(err: BentoError | null): void;
}

/** The typed client the CLI and the TUI use to talk to bentod over its Unix socket. */
export class BentoClient {
  constructor(readonly socket: string) {}

  private unreachable(err: unknown): BentoError {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return new BentoError('daemon-unavailable', `cannot reach bentod at ${this.socket} (${code || (err as Error).message})`, { cause: err });
  }

  /** One request; resolves with the parsed JSON (undefined for 204), rejects with the API's error. */
  request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
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
      if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new BentoError('timeout', `bentod did not answer ${path} within ${opts.timeoutMs} ms`)));
      req.end(payload);
    });
  }

  version(): Promise<VersionInfo> {
    return this.request('/api/version');
  }
  list(): Promise<Vm[]> {
    return this.request('/api/vms');
  }
  get(name: string): Promise<Vm> {
    return this.request(`/api/vms/${encodeURIComponent(name)}`);
  }
  inspect(name: string): Promise<Record<string, unknown>> {
    return this.request(`/api/vms/${encodeURIComponent(name)}/inspect`);
  }
  create(req: CreateRequest): Promise<Vm> {
    return this.request('/api/vms', { method: 'POST', body: req });
  }
  patch(name: string, body: Record<string, unknown>): Promise<Vm> {
    return this.request(`/api/vms/${encodeURIComponent(name)}`, { method: 'PATCH', body });
  }
  remove(name: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.request(`/api/vms/${encodeURIComponent(name)}${opts.force ? '?force=1' : ''}`, { method: 'DELETE' });
  }
  start(name: string): Promise<Vm> {
    return this.action(name, 'start');
  }
  stop(name: string, req: StopRequest = {}): Promise<Vm> {
    return this.action(name, 'stop', req);
  }
  pause(name: string): Promise<Vm> {
    return this.action(name, 'pause');
  }
  resume(name: string): Promise<Vm> {
    return this.action(name, 'resume');
  }
  restart(name: string, req: StopRequest = {}): Promise<Vm> {
    return this.action(name, 'restart', req);
  }
  private action(name: string, verb: string, body: object = {}): Promise<Vm> {
    return this.request(`/api/vms/${encodeURIComponent(name)}/${verb}`, { method: 'POST', body });
  }

  /** Opens a raw streaming GET (the serial log); the caller reads and destroys the response. */
  stream(path: string): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = http.get({ socketPath: this.socket, path }, (res) => {
        if ((res.statusCode ?? 0) < 300) return resolve(res);
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const e = (JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { error?: { code: ErrorCode; message: string } }).error;
          reject(new BentoError(e?.code ?? 'internal', e?.message ?? `bentod answered ${res.statusCode}`));
        });
      });
      req.on('error', (err) => reject(this.unreachable(err)));
    });
  }

  /** Subscribes to /api/events (server-sent events); returns a disposer that closes the stream. */
  async events(handlers: EventHandlers, opts: { snapshot?: boolean } = {}): Promise<Disposer> {
    const res = await this.stream(`/api/events${opts.snapshot ? '?snapshot=1' : ''}`);
    let closed = false;
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
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
        if (!data.length) continue;
        const value = JSON.parse(data.join('\n')) as unknown;
        if (type === 'snapshot') handlers.onSnapshot?.(value as Vm[]);
        else if (type === 'created' || type === 'changed' || type === 'deleted') handlers.onChange?.(value as VmChange);
        else if (type === 'message') handlers.onEvent(value as StateEvent);
      }
    });
    const end = (err: Error | null): void => {
      if (closed) return;
      closed = true;
      handlers.onEnd?.(err ? this.unreachable(err) : null);
    };
    res.on('end', () => end(null));
    res.on('error', (err) => end(err));
    res.on('close', () => end(null));
    return () => {
      closed = true;
      res.destroy();
    };
  }
}
