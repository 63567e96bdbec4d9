import net from 'node:net';
import { BentoError } from '../../errors.js';
import type { Disposer } from '../../types.js';
import { EventHub, JsonLinesChannel, type ReplyMatch } from '../json-lines.js';
import { mapVzError } from './errors.js';
import { MAX_LINE, PROTOCOL_VERSION, helperMessageSchema, type HelperMessage, type HelperOp } from './protocol.js';

/** The helper's greeting. */
export type HelperHello = Extract<HelperMessage, { type: 'hello' }>;
/** A state change the helper broadcast. */
export type HelperStateMessage = Extract<HelperMessage, { type: 'state' }>;

/** Default wait for a reply; VM operations finish in well under a second on a healthy host. */
const REQUEST_TIMEOUT_MS = 15_000;

/** The helper's message, validated; null when the line is not one. */
function helperMessage(msg: unknown): HelperMessage | null {
  const r = helperMessageSchema.safeParse(msg);
  return r.success ? r.data : null;
}

/** `{type:"reply", id, ok, result|error}`; an error becomes the BentoError its kind maps to. */
function helperReply(raw: Record<string, unknown>): ReplyMatch | null {
  if (raw.type !== 'reply') return null;
  const msg = helperMessage(raw);
  if (!msg || msg.type !== 'reply' || msg.id === null) return null;
  if (msg.ok) return { id: msg.id, result: msg.result };
  const wire = msg.error;
  return { id: msg.id, error: (op) => mapVzError(wire, op) };
}

/** bentod's connection to one vz helper's control socket. */
export class ControlClient {
  private readonly states = new EventHub<HelperStateMessage>();

  private constructor(
    private readonly channel: JsonLinesChannel,
    /** The greeting the helper sent on connect. */
    readonly hello: HelperHello,
  ) {}

  /** Connects and waits for the hello; rejects when the helper is not there or speaks another protocol. */
  static connect(socketPath: string, opts: { timeoutMs?: number } = {}): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socketPath);
      let client: ControlClient | null = null;
      let failed = false;
      const fail = (msg: string): void => {
        if (failed) return;
        failed = true;
        clearTimeout(timer);
        channel.close();
        reject(new BentoError('io-error', `vz helper at ${socketPath}: ${msg}`));
      };
      const timer = setTimeout(() => fail('no hello within the timeout'), opts.timeoutMs ?? 5_000);
      const channel = new JsonLinesChannel(sock, {
        label: `vz helper at ${socketPath}`,
        maxLine: MAX_LINE,
        defaultTimeoutMs: REQUEST_TIMEOUT_MS,
        makeId: (n) => n,
        matchReply: helperReply,
        onMessage: (raw, line) => {
          const msg = helperMessage(raw);
          if (client) {
            if (msg?.type === 'state') client.states.emit(msg);
            return;
          }
          if (!msg || msg.type !== 'hello') return fail(`expected a hello, got ${line.slice(0, 200)}`);
          if (msg.protocol !== PROTOCOL_VERSION) return fail(`speaks protocol ${msg.protocol}, bentod speaks ${PROTOCOL_VERSION}; stop the VM with bento ≥ this version`);
          clearTimeout(timer);
          client = new ControlClient(channel, msg);
          resolve(client);
        },
        errors: {
          timeout: (op, ms) => new BentoError('timeout', `the vz helper did not answer ${op} within ${ms} ms`),
          closed: (op, id) => new BentoError('io-error', `the vz helper closed its control socket before answering ${op} (#${id})`),
          notOpen: (op) => new BentoError('not-running', `the vz helper is gone (${op})`),
        },
      });
      channel.onClose((info) => {
        if (!client) return fail(info.error ? `cannot connect: ${info.error.message}` : 'closed before its hello');
        // State changes that came before the end (the stop reason) reach listeners before the close.
        client.states.flush();
      });
    });
  }

  /** True once the socket has closed (the helper exited, or we closed it). */
  get closed(): boolean {
    return this.channel.closed;
  }

  /** Sends one request and resolves with its result. */
  request<T = unknown>(op: HelperOp, extra: { file?: string } = {}, opts: { timeoutMs?: number } = {}): Promise<T> {
    return this.channel.request<T>(op, { op, ...extra }, opts);
  }

  /** Subscribes to state broadcasts; those that came while nobody listened arrive on the next turn. */
  onState(listener: (m: HelperStateMessage) => void): Disposer {
    return this.states.on(listener);
  }

  /** Subscribes to the socket closing (a listener added after the close hears it too). */
  onClose(listener: () => void): Disposer {
    return this.channel.onClose(() => listener());
  }

  /** Closes the connection; the helper and its VM keep running. */
  close(): void {
    this.channel.close();
  }
}
