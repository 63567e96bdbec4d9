import net from 'node:net';
import { BentoError, errorMessage } from '../../errors.js';

/** An asynchronous QMP event. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** QEMU's greeting: its version and capabilities. */
export interface QmpGreeting {
  version?: { qemu?: { major: number; minor: number; micro: number }; package?: string };
  capabilities?: string[];
}

interface Pending {
  command: string;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | null;
}

/** Longest line we accept from QEMU; anything larger means the stream is not QMP. */
const MAX_LINE = 16 * 1024 * 1024;

/** A QMP connection: commands with ids matched to replies, events, one close notification. */
export class QmpClient {
  greeting: QmpGreeting = {};
  closed = false;
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly eventListeners = new Set<(ev: QmpEvent) => void>();
  private readonly closeListeners = new Set<(info: { error?: Error }) => void>();
  private greeted: ((g: QmpGreeting) => void) | null = null;

  constructor(
    private readonly sock: net.Socket,
    private readonly path: string,
    private readonly onProtocolError?: (line: string) => void,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.feed(chunk));
    sock.on('error', (err) => this.shutdown(err));
    sock.on('close', () => this.shutdown());
  }

  /** Resolves with the greeting once it arrives. */
  waitGreeting(): Promise<QmpGreeting> {
    return new Promise((resolve) => (this.greeted = resolve));
  }

  private feed(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (line) this.handle(line);
    }
    if (this.buf.length > MAX_LINE) this.shutdown(new BentoError('io-error', `QMP ${this.path}: a message longer than ${MAX_LINE} bytes`));
  }

  private handle(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.onProtocolError?.(line);
      return;
    }
    if ('QMP' in msg) {
      this.greeting = msg.QMP as QmpGreeting;
      this.greeted?.(this.greeting);
      this.greeted = null;
    } else if (typeof msg.event === 'string') {
      for (const l of this.eventListeners) l(msg as unknown as QmpEvent);
    } else if ('return' in msg || 'error' in msg) {
      const id = String(msg.id);
      const p = this.pending.get(id);
      if (!p) return;
      this.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      if ('error' in msg) {
        const e = msg.error as { class?: string; desc?: string };
        p.reject(new BentoError('qmp-error', `QMP ${p.command} failed: ${e.desc ?? 'unknown error'} (${e.class ?? 'GenericError'})`));
      } else p.resolve(msg.return);
    } else {
      this.onProtocolError?.(line);
    }
  }

  /** Runs a command; rejects with qmp-error on an error reply, io-error when the link drops. */
  execute<T = unknown>(command: string, args?: object, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new BentoError('io-error', `QMP ${this.path} is closed (${command})`));
    const id = `bento-${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            this.pending.delete(id);
            reject(new BentoError('timeout', `QMP ${command} got no reply within ${opts.timeoutMs} ms`));
          }, opts.timeoutMs)
        : null;
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  /** Subscribes to events. */
  onEvent(listener: (ev: QmpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Called once when the connection ends, for any reason. */
  onClose(listener: (info: { error?: Error }) => void): () => void {
    if (this.closed) {
      queueMicrotask(() => listener({}));
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  private shutdown(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.destroy();
    for (const [, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new BentoError('io-error', `QMP ${this.path} closed before ${p.command} replied${error ? `: ${error.message}` : ''}`));
    }
    this.pending.clear();
    for (const l of this.closeListeners) l(error ? { error } : {});
    this.closeListeners.clear();
  }

  /** Closes the connection (the VM is not affected). */
  close(): void {
    this.shutdown();
  }
}

/** Connects to a QMP socket, waits for the greeting and negotiates capabilities. */
export async function connectQmp(path: string, opts: { timeoutMs?: number; onProtocolError?: (line: string) => void } = {}): Promise<QmpClient> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const sock = net.connect(path);
  const client = new QmpClient(sock, path, opts.onProtocolError);
  const greeting = client.waitGreeting();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      }),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs))),
    ]);
    await Promise.race([
      greeting,
      new Promise<never>((_, reject) => client.onClose(() => reject(new Error('closed before the greeting')))),
      new Promise<never>((_, reject) => {
        clearTimeout(timer);
        timer = setTimeout(() => reject(new Error(`no greeting within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    await client.execute('qmp_capabilities', undefined, { timeoutMs });
    return client;
  } catch (err) {
    client.close();
    throw new BentoError('io-error', `failed to connect to QMP socket ${path}: ${errorMessage(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
