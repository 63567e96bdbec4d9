import net from 'node:net';
import { BentoError, errorMessage } from '../../errors.js';
import type { Disposer } from '../../types.js';
import { EventHub, isObject, JsonLinesChannel, type ChannelCloseInfo, type ReplyMatch } from '../json-lines.js';

/** How long any QMP command may take unless its caller says otherwise. */
export const QMP_DEFAULT_TIMEOUT_MS = 5_000;

/** An asynchronous QMP event, e.g. `{"event":"STOP","timestamp":{…}}`. */
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
export type QmpCloseInfo = ChannelCloseInfo;

/** Options of connectQmp. */
export interface QmpConnectOptions {
  /** Budget for connecting, the greeting and capability negotiation together (default 5 s). */
  timeoutMs?: number;
  /** Told about lines that are not QMP; the client ignores them and carries on. */
  onProtocolError?: (line: string, reason: string) => void;
}

/** Longest line (in characters) we accept from QEMU; anything larger means the stream is not QMP. */
export const QMP_MAX_LINE = 16 * 1024 * 1024;

/** QMP's reply shapes, `{return, id}` and `{error: {class, desc}, id}`; null for events and the rest. */
function qmpReply(msg: Record<string, unknown>): ReplyMatch | null {
  // QEMU answers without an id only when it could not parse what we sent: not a reply we can match.
  if (typeof msg.event === 'string' || msg.id === undefined || (!('return' in msg) && !('error' in msg))) return null;
  const id = msg.id as string | number;
  if (!('error' in msg)) return { id, result: msg.return };
  const e = isObject(msg.error) ? msg.error : {};
  const desc = typeof e.desc === 'string' ? e.desc : 'unknown error';
  const cls = typeof e.class === 'string' ? e.class : 'GenericError';
  return { id, error: (command) => new BentoError('qmp-error', `QMP ${command} failed: ${desc} (${cls})`) };
}

/** A QMP connection: the greeting, commands with ids matched to replies, events, one close notification. */
export class QmpClient {
  private greetingValue: QmpGreeting = {};
  private readonly channel: JsonLinesChannel;
  private readonly events = new EventHub<QmpEvent>();
  private greeted: { resolve(g: QmpGreeting): void; reject(e: Error): void } | null = null;
  private closeError: Error | undefined;

  /** Wraps a connected (or connecting) socket; use connectQmp rather than calling this directly. */
  constructor(
    sock: net.Socket,
    private readonly path: string,
    private readonly onProtocolError?: (line: string, reason: string) => void,
  ) {
    this.channel = new JsonLinesChannel(sock, {
      label: `QMP ${path}`,
      maxLine: QMP_MAX_LINE,
      defaultTimeoutMs: QMP_DEFAULT_TIMEOUT_MS,
      makeId: (n) => `bento-${n}`,
      matchReply: qmpReply,
      onMessage: (msg, line) => this.handle(msg, line),
      errors: {
        timeout: (command, ms) => new BentoError('timeout', `QMP ${command} got no reply within ${ms} ms`),
        notOpen: (command) => new BentoError('io-error', `QMP ${path} is closed; cannot run ${command}`),
      },
    });
    // First among the close listeners: events that came before the end (a SHUTDOWN, say) must reach
    // their listeners before the close does.
    this.channel.onClose((info) => {
      this.closeError = info.error;
      this.greeted?.reject(info.error ?? new Error('connection closed before the greeting'));
      this.greeted = null;
      this.events.flush();
    });
  }

  /** The greeting QEMU sent (empty until it arrives). */
  get greeting(): QmpGreeting {
    return this.greetingValue;
  }

  /** True once the connection is gone; commands then fail at once. */
  get closed(): boolean {
    return this.channel.closed;
  }

  /** Resolves with the greeting; rejects if the first line is not one or the link ends first. */
  waitGreeting(): Promise<QmpGreeting> {
    return new Promise((resolve, reject) => {
      if (this.closed) reject(this.closeError ?? new Error('connection closed before the greeting'));
      else this.greeted = { resolve, reject };
    });
  }

  private handle(msg: unknown, line: string): void {
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
    if (typeof msg.event === 'string') return this.events.emit(msg as unknown as QmpEvent);
    if (!('return' in msg) && !('error' in msg)) return this.onProtocolError?.(line, 'neither a reply nor an event');
    if (msg.id === undefined) return this.onProtocolError?.(line, 'reply without an id');
  }

  /**
   * Runs a command: qmp-error on an error reply, io-error when closed, timeout after opts.timeoutMs
   * (QMP_DEFAULT_TIMEOUT_MS unless given). A stuck qemu never hangs a caller.
   */
  execute<T = unknown>(command: string, args?: object, opts: { timeoutMs?: number } = {}): Promise<T> {
    return this.channel.request<T>(command, { execute: command, ...(args ? { arguments: args } : {}) }, opts);
  }

  /** Subscribes to events; events that came while nobody listened arrive on the next turn. */
  onEvent(listener: (ev: QmpEvent) => void): Disposer {
    return this.events.on(listener);
  }

  /** Called once when the connection ends for any reason, close() included; late listeners get it too. */
  onClose(listener: (info: QmpCloseInfo) => void): Disposer {
    return this.channel.onClose(listener);
  }

  /** Closes the connection (the VM is not affected); onClose listeners fire without an error. */
  close(): void {
    this.channel.close();
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
