import net from 'node:net';
import { BentoError, errorMessage } from '../../errors.js';
import type { Disposer } from '../../types.js';

/** An asynchronous QMP event, e.g. `{"event":"STOP","timestamp":{…}}`. */
/** How long any QMP command may take unless its caller says otherwise. */
export const QMP_DEFAULT_TIMEOUT_MS = 5_000;

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** QEMU's greeting: its version and the capabilities it offers. */
export interface QmpGreeting {
  version?: { qemu?: { major: number; minor: number; micro: number }; package?: string };
  capabilities?: string[];
}

/** What onClose listeners get: the error when the link failed, nothing when it simply ended. */
export interface QmpCloseInfo {
  error?: Error;
}

/** Options of connectQmp. */
export interface QmpConnectOptions {
  /** Budget for connecting, the greeting and capability negotiation together (default 5 s). */
  timeoutMs?: number;
  /** Told about lines that are not QMP; the client ignores them and carries on. */
  onProtocolError?: (line: string, reason: string) => void;
}

interface Pending {
  command: string;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | null;
}

/** Longest line (in characters) we accept from QEMU; anything larger means the stream is not QMP. */
export const QMP_MAX_LINE = 16 * 1024 * 1024;
/** Events kept while nobody listens, so one that shares a chunk with the capabilities reply is not lost. */
const MAX_BACKLOG = 256;
/** Errors that only mean the peer went away; QEMU resets the socket when it exits on `quit`. */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE']);

/** A QMP connection: commands with ids matched to replies, events, one close notification. */
export class QmpClient {
  private greetingValue: QmpGreeting = {};
  private closeInfo: QmpCloseInfo | null = null;
  private buf = '';
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private readonly eventListeners = new Set<(ev: QmpEvent) => void>();
  private readonly closeListeners = new Set<(info: QmpCloseInfo) => void>();
  private backlog: QmpEvent[] = [];
  private flushScheduled = false;
  private greeted: { resolve(g: QmpGreeting): void; reject(e: Error): void } | null = null;

  /** Wraps a connected (or connecting) socket; use connectQmp rather than calling this directly. */
  constructor(
    private readonly sock: net.Socket,
    private readonly path: string,
    private readonly onProtocolError?: (line: string, reason: string) => void,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.feed(chunk));
    sock.on('error', (err: NodeJS.ErrnoException) => this.shutdown(err.code && PEER_GONE.has(err.code) ? undefined : err));
    sock.on('close', () => this.shutdown());
  }

  /** The greeting QEMU sent (empty until it arrives). */
  get greeting(): QmpGreeting {
    return this.greetingValue;
  }

  /** True once the connection is gone; commands then fail at once. */
  get closed(): boolean {
    return this.closeInfo !== null;
  }

  /** Resolves with the greeting; rejects if the first line is not one or the link ends first. */
  waitGreeting(): Promise<QmpGreeting> {
    return new Promise((resolve, reject) => {
      if (this.closeInfo) reject(this.closeInfo.error ?? new Error('connection closed before the greeting'));
      else this.greeted = { resolve, reject };
    });
  }

  private feed(chunk: string): void {
    // Only the new chunk can hold the newline that ends the buffered partial line.
    let nl = chunk.indexOf('\n');
    if (nl < 0) {
      this.buf += chunk;
    } else {
      const data = this.buf + chunk;
      this.buf = '';
      let start = 0;
      nl += data.length - chunk.length;
      while (nl >= 0 && !this.closed) {
        if (nl - start > QMP_MAX_LINE) return this.tooLong();
        const line = data.slice(start, nl).trim();
        start = nl + 1;
        if (line) this.handle(line);
        nl = data.indexOf('\n', start);
      }
      this.buf = this.closed ? '' : data.slice(start);
    }
    if (this.buf.length > QMP_MAX_LINE) this.tooLong();
  }

  private tooLong(): void {
    this.shutdown(new BentoError('io-error', `QMP ${this.path}: a line longer than ${QMP_MAX_LINE} characters; dropping the connection`));
  }

  private handle(line: string): void {
    const msg = parseJson(line);
    if (this.greeted) {
      // The first line decides: QMP, or some other service we must not talk to.
      const g = this.greeted;
      this.greeted = null;
      const qmp = isObject(msg) ? msg.QMP : undefined;
      if (!isObject(qmp)) return g.reject(new Error(`not a QMP greeting: ${JSON.stringify(line.slice(0, 80))}`));
      this.greetingValue = qmp as QmpGreeting;
      return g.resolve(this.greetingValue);
    }
    if (!isObject(msg)) return this.onProtocolError?.(line, 'not a JSON object');
    if (typeof msg.event === 'string') return this.dispatch(msg as unknown as QmpEvent);
    if (!('return' in msg) && !('error' in msg)) return this.onProtocolError?.(line, 'neither a reply nor an event');
    // QEMU answers without an id only when it could not parse what we sent.
    if (msg.id === undefined) return this.onProtocolError?.(line, 'reply without an id');
    const id = String(msg.id);
    const p = this.pending.get(id);
    // No waiter: the command timed out and this is its late reply.
    if (!p) return;
    this.pending.delete(id);
    if (p.timer) clearTimeout(p.timer);
    if ('error' in msg) {
      const e = isObject(msg.error) ? msg.error : {};
      const desc = typeof e.desc === 'string' ? e.desc : 'unknown error';
      const cls = typeof e.class === 'string' ? e.class : 'GenericError';
      p.reject(new BentoError('qmp-error', `QMP ${p.command} failed: ${desc} (${cls})`));
    } else {
      p.resolve(msg.return);
    }
  }

  private dispatch(ev: QmpEvent): void {
    // Behind an undelivered backlog, a new event waits its turn so the order holds.
    if (this.eventListeners.size === 0 || this.backlog.length > 0) {
      this.backlog.push(ev);
      if (this.backlog.length > MAX_BACKLOG) this.backlog.shift();
      return;
    }
    for (const l of [...this.eventListeners]) callSafely(l, ev);
  }

  private flushBacklog(): void {
    if (this.eventListeners.size === 0) return;
    const held = this.backlog;
    this.backlog = [];
    for (const ev of held) this.dispatch(ev);
  }

  /**
   * Runs a command: qmp-error on an error reply, io-error when closed, timeout after opts.timeoutMs
   * (QMP_DEFAULT_TIMEOUT_MS unless given; 0 waits for ever). A stuck qemu never hangs a caller.
   */
  execute<T = unknown>(command: string, args?: object, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closed) return Promise.reject(new BentoError('io-error', `QMP ${this.path} is closed; cannot run ${command}`));
    const id = `bento-${this.nextId++}`;
    const timeoutMs = opts.timeoutMs ?? QMP_DEFAULT_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const expire = (): void => {
        this.pending.delete(id);
        reject(new BentoError('timeout', `QMP ${command} got no reply within ${timeoutMs} ms`));
      };
      const timer = timeoutMs ? setTimeout(expire, timeoutMs) : null;
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id }) + '\n');
    });
  }

  /** Subscribes to events; events that came while nobody listened arrive on the next turn. */
  onEvent(listener: (ev: QmpEvent) => void): Disposer {
    this.eventListeners.add(listener);
    if (this.backlog.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate runs after pending promise continuations, so listeners added right after
      // `await connectQmp()` all see the backlog.
      setImmediate(() => {
        this.flushScheduled = false;
        this.flushBacklog();
      });
    }
    return () => void this.eventListeners.delete(listener);
  }

  /** Called once when the connection ends for any reason, close() included; late listeners get it too. */
  onClose(listener: (info: QmpCloseInfo) => void): Disposer {
    const info = this.closeInfo;
    if (info) {
      queueMicrotask(() => callSafely(listener, info));
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => void this.closeListeners.delete(listener);
  }

  private shutdown(error?: Error): void {
    if (this.closeInfo) return;
    const info: QmpCloseInfo = error ? { error } : {};
    this.closeInfo = info;
    this.buf = '';
    this.sock.destroy();
    const why = error ? `: ${error.message}` : '';
    this.greeted?.reject(error ?? new Error('connection closed before the greeting'));
    this.greeted = null;
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new BentoError('io-error', `QMP ${this.path} closed before ${p.command} replied${why}`, error ? { cause: error } : {}));
    }
    this.pending.clear();
    // Events that arrived before the end (a SHUTDOWN, say) must reach listeners before the close does.
    this.flushBacklog();
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const l of listeners) callSafely(l, info);
  }

  /** Closes the connection (the VM is not affected); onClose listeners fire without an error. */
  close(): void {
    this.shutdown();
  }
}

/** Connects to a QMP socket, checks the greeting and negotiates capabilities, all within timeoutMs. */
export async function connectQmp(path: string, opts: QmpConnectOptions = {}): Promise<QmpClient> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const sock = net.connect(path);
  const client = new QmpClient(sock, path, opts.onProtocolError);
  const greeting = client.waitGreeting();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no QMP handshake within ${timeoutMs} ms`)), timeoutMs);
  });
  // Whichever of these loses the race must not surface as an unhandled rejection.
  greeting.catch(() => undefined);
  deadline.catch(() => undefined);
  try {
    await Promise.race([greeting, deadline]);
    await Promise.race([client.execute('qmp_capabilities'), deadline]);
    return client;
  } catch (err) {
    client.close();
    throw new BentoError('io-error', `failed to connect to QMP socket ${path}: ${errorMessage(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Calls a listener so that its exception neither breaks framing nor starves the other listeners. */
function callSafely<A>(listener: (arg: A) => void, arg: A): void {
  try {
    listener(arg);
  } catch (err) {
    // Still surface the bug, just not in the middle of parsing a chunk.
    setImmediate(() => {
      throw err;
    });
  }
}
