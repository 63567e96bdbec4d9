import net from 'node:net';
import { BentoError } from '../../errors.js';
import type { Disposer } from '../../types.js';
import { mapVzError } from './errors.js';
import { LineSplitter, PROTOCOL_VERSION, helperMessageSchema, parseLine, type HelperMessage, type HelperOp } from './protocol.js';

/** The helper's greeting. */
export type HelperHello = Extract<HelperMessage, { type: 'hello' }>;
/** A state change the helper broadcast. */
export type HelperStateMessage = Extract<HelperMessage, { type: 'state' }>;

interface Pending {
  op: HelperOp;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Default wait for a reply; VM operations finish in well under a second on a healthy host. */
const REQUEST_TIMEOUT_MS = 15_000;

/** bentod's connection to one vz helper's control socket. */
export class ControlClient {
  private readonly pending = new Map<number, Pending>();
  private readonly stateListeners = new Set<(m: HelperStateMessage) => void>();
  private readonly closeListeners = new Set<() => void>();
  private nextId = 1;
  private isClosed = false;

  private constructor(
    private readonly sock: net.Socket,
    /** The greeting the helper sent on connect. */
    readonly hello: HelperHello,
  ) {}

  /** Connects and waits for the hello; rejects when the helper is not there or speaks another protocol. */
  static connect(socketPath: string, opts: { timeoutMs?: number } = {}): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(socketPath);
      let client: ControlClient | null = null;
      const fail = (msg: string): void => {
        clearTimeout(timer);
        sock.destroy();
        reject(new BentoError('io-error', `vz helper at ${socketPath}: ${msg}`));
      };
      const timer = setTimeout(() => fail('no hello within the timeout'), opts.timeoutMs ?? 5_000);
      const lines = new LineSplitter(
        (line) => {
          const msg = parseLine(helperMessageSchema, line);
          if (client) {
            if (msg) client.dispatch(msg);
            return;
          }
          if (!msg || msg.type !== 'hello') return fail(`expected a hello, got ${line.slice(0, 200)}`);
          if (msg.protocol !== PROTOCOL_VERSION) return fail(`speaks protocol ${msg.protocol}, bentod speaks ${PROTOCOL_VERSION}; stop the VM with bento ≥ this version`);
          clearTimeout(timer);
          client = new ControlClient(sock, msg);
          resolve(client);
        },
        () => fail('sent an over-long line'),
      );
      sock.on('data', (chunk: Buffer) => lines.push(chunk));
      sock.on('error', (err) => (client ? undefined : fail(`cannot connect: ${err.message}`)));
      sock.on('close', () => (client ? client.handleClose() : fail('closed before its hello')));
    });
  }

  /** True once the socket has closed (the helper exited, or we closed it). */
  get closed(): boolean {
    return this.isClosed;
  }

  private dispatch(msg: HelperMessage): void {
    if (msg.type === 'state') {
      for (const l of this.stateListeners) l(msg);
      return;
    }
    if (msg.type !== 'reply' || msg.id === null) return;
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(mapVzError(msg.error, p.op));
  }

  private handleClose(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new BentoError('io-error', `the vz helper closed its control socket before answering ${p.op} (#${id})`));
    }
    this.pending.clear();
    for (const l of this.closeListeners) l();
  }

  /** Sends one request and resolves with its result. */
  request<T = unknown>(op: HelperOp, extra: { file?: string } = {}, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.isClosed) return Promise.reject(new BentoError('not-running', `the vz helper is gone (${op})`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const ms = opts.timeoutMs ?? REQUEST_TIMEOUT_MS;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BentoError('timeout', `the vz helper did not answer ${op} within ${ms} ms`));
      }, ms);
      this.pending.set(id, { op, resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(JSON.stringify({ id, op, ...extra }) + '\n');
    });
  }

  /** Subscribes to state broadcasts. */
  onState(listener: (m: HelperStateMessage) => void): Disposer {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Subscribes to the socket closing. */
  onClose(listener: () => void): Disposer {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Closes the connection; the helper and its VM keep running. */
  close(): void {
    this.sock.destroy();
  }
}
