// One JSON-lines channel for every monitor bentod drives (QMP, the vz helper's control socket): bounded
// line framing, requests with ids, replies matched by id, a timeout on every request, pending requests
// rejected when the socket closes. The protocol clients keep only their message mapping.
import type net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { BentoError } from '../errors.js';
import type { Disposer } from '../types.js';

/** Splits a stream into trimmed, non-empty lines; a line longer than maxLine is reported, never buffered. */
export class LineFramer {
  private buf = '';
  private readonly decoder = new StringDecoder('utf8');
  private stopped = false;

  constructor(
    private readonly maxLine: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: () => void,
  ) {}

  /** Feeds a chunk (a Buffer is decoded so a character split across chunks survives). */
  push(input: Buffer | string): void {
    if (this.stopped) return;
    const chunk = typeof input === 'string' ? input : this.decoder.write(input);
    // Only the new chunk can hold the newline that ends the buffered partial line: scanning it alone
    // keeps a long line arriving in many chunks linear.
    let nl = chunk.indexOf('\n');
    if (nl < 0) {
      this.buf += chunk;
    } else {
      const data = this.buf + chunk;
      this.buf = '';
      let start = 0;
      nl += data.length - chunk.length;
      while (nl >= 0 && !this.stopped) {
        if (nl - start > this.maxLine) return this.overflow();
        const line = data.slice(start, nl).trim();
        start = nl + 1;
        if (line) this.onLine(line);
        nl = data.indexOf('\n', start);
      }
      if (this.stopped) return;
      this.buf = data.slice(start);
    }
    if (this.buf.length > this.maxLine) this.overflow();
  }

  /** Drops whatever is buffered and ignores further input. */
  stop(): void {
    this.stopped = true;
    this.buf = '';
  }

  private overflow(): void {
    this.stop();
    this.onOverflow();
  }
}

/** A reply picked out of an incoming message: its id and either a result or an error. */
export type ReplyMatch = { id: string | number; result: unknown } | { id: string | number; error: (request: string) => Error };

/** What a channel's close listeners get: the error when the link failed, nothing when it simply ended. */
export interface ChannelCloseInfo {
  error?: Error;
}

/** The errors a protocol wants its callers to see. */
export interface ChannelErrors {
  timeout(request: string, ms: number): Error;
  closed(request: string, id: string | number, cause?: Error): Error;
  notOpen(request: string): Error;
}

/** How one protocol uses the channel. */
export interface JsonLinesOptions {
  /** Names the peer in messages (`QMP /path/qmp.sock`). */
  label: string;
  /** Longest line accepted; a longer one closes the channel with an error. */
  maxLine: number;
  /** Timeout of a request whose caller gives none; 0 would mean for ever, so it is required. */
  defaultTimeoutMs: number;
  /** Makes the id of the n-th request. */
  makeId(seq: number): string | number;
  /** Picks out a reply to a request; null for anything else, which goes to the message handler. */
  matchReply(msg: Record<string, unknown>): ReplyMatch | null;
  /** Every line that is not a reply: the parsed value (undefined when not JSON) and the raw line. */
  onMessage(msg: unknown, line: string): void;
  errors?: Partial<ChannelErrors>;
}

interface Pending {
  request: string;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | null;
}

/** Errors that only mean the peer went away (a process exiting resets its sockets). */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE']);

/** A JSON-lines connection with id-matched requests; closes once, for any reason, and says why. */
export class JsonLinesChannel {
  private readonly framer: LineFramer;
  private readonly pending = new Map<string, Pending>();
  private readonly closeListeners = new Set<(info: ChannelCloseInfo) => void>();
  private readonly errors: ChannelErrors;
  private closeInfo: ChannelCloseInfo | null = null;
  private seq = 1;

  constructor(
    private readonly sock: net.Socket,
    private readonly opts: JsonLinesOptions,
  ) {
    const label = opts.label;
    this.errors = {
      timeout: (r, ms) => new BentoError('timeout', `${label}: no reply to ${r} within ${ms} ms`),
      closed: (r, _id, cause) => new BentoError('io-error', `${label} closed before ${r} replied${cause ? `: ${cause.message}` : ''}`, cause ? { cause } : {}),
      notOpen: (r) => new BentoError('io-error', `${label} is closed; cannot send ${r}`),
      ...opts.errors,
    };
    this.framer = new LineFramer(opts.maxLine, (line) => this.handle(line), () =>
      this.shutdown(new BentoError('io-error', `${label}: a line longer than ${opts.maxLine} characters; dropping the connection`)),
    );
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.framer.push(chunk));
    sock.on('error', (err: NodeJS.ErrnoException) => this.shutdown(err.code && PEER_GONE.has(err.code) ? undefined : err));
    sock.on('close', () => this.shutdown());
  }

  /** True once the channel has closed; requests then fail at once. */
  get closed(): boolean {
    return this.closeInfo !== null;
  }

  /** How many requests await a reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  private handle(line: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      msg = undefined;
    }
    const reply = isObject(msg) ? this.opts.matchReply(msg) : null;
    if (!reply) return this.opts.onMessage(msg, line);
    const key = String(reply.id);
    const p = this.pending.get(key);
    // No waiter: the request timed out and this is its late reply.
    if (!p) return;
    this.pending.delete(key);
    if (p.timer) clearTimeout(p.timer);
    if ('error' in reply) p.reject(reply.error(p.request));
    else p.resolve(reply.result);
  }

  /**
   * Sends `{...body, id}` and resolves with the matched reply's result. Rejects on an error reply, on a
   * timeout (timeoutMs, else the channel's default), and when the channel closes first.
   */
  request<T = unknown>(request: string, body: object, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.closed) return Promise.reject(this.errors.notOpen(request));
    const id = this.opts.makeId(this.seq++);
    const key = String(id);
    const ms = opts.timeoutMs ?? this.opts.defaultTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const expire = (): void => {
        this.pending.delete(key);
        reject(this.errors.timeout(request, ms));
      };
      const timer = ms > 0 ? setTimeout(expire, ms) : null;
      this.pending.set(key, { request, resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(JSON.stringify({ ...body, id }) + '\n');
    });
  }

  /** Called once when the channel ends, close() included; a listener added later hears it too. */
  onClose(listener: (info: ChannelCloseInfo) => void): Disposer {
    const info = this.closeInfo;
    if (info) {
      queueMicrotask(() => callSafely(listener, info));
      return () => undefined;
    }
    this.closeListeners.add(listener);
    return () => void this.closeListeners.delete(listener);
  }

  /** Closes the channel (the peer is not affected); with an error, listeners are told it failed. */
  close(error?: Error): void {
    this.shutdown(error);
  }

  private shutdown(error?: Error): void {
    if (this.closeInfo) return;
    const info: ChannelCloseInfo = error ? { error } : {};
    this.closeInfo = info;
    this.framer.stop();
    this.sock.destroy();
    for (const [key, p] of this.pending) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(this.errors.closed(p.request, key, error));
    }
    this.pending.clear();
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const l of listeners) callSafely(l, info);
  }
}

/**
 * Fans events out to listeners, holding them (at most `limit`, oldest dropped) while nobody listens,
 * so an event that arrives with a handshake's last reply reaches the first subscriber on the next turn.
 */
export class EventHub<E> {
  private readonly listeners = new Set<(ev: E) => void>();
  private backlog: E[] = [];
  private flushScheduled = false;

  constructor(private readonly limit = 256) {}

  /** Delivers an event now, or holds it behind an undelivered backlog so the order holds. */
  emit(ev: E): void {
    if (this.listeners.size === 0 || this.backlog.length > 0) {
      this.backlog.push(ev);
      if (this.backlog.length > this.limit) this.backlog.shift();
      return;
    }
    for (const l of [...this.listeners]) callSafely(l, ev);
  }

  /** Subscribes; events held while nobody listened arrive on the next turn. */
  on(listener: (ev: E) => void): Disposer {
    this.listeners.add(listener);
    if (this.backlog.length > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate runs after pending promise continuations, so listeners added right after
      // `await connect()` all see the backlog.
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return () => void this.listeners.delete(listener);
  }

  /** Delivers held events now (before a close is announced, say) if anyone listens. */
  flush(): void {
    if (this.listeners.size === 0) return;
    const held = this.backlog;
    this.backlog = [];
    for (const ev of held) this.emit(ev);
  }
}

/** Whether a value is a plain JSON object. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Calls a listener so that its exception neither breaks framing nor starves the other listeners. */
export function callSafely<A>(listener: (arg: A) => void, arg: A): void {
  try {
    listener(arg);
  } catch (err) {
    // Still surface the bug, just not in the middle of parsing a chunk.
    setImmediate(() => {
      throw err;
    });
  }
}
