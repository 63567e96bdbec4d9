import fs from 'node:fs';
import net from 'node:net';
import { wireErrorFrom } from './errors.js';
import { LineSplitter, parseLine, requestSchema, type HelperMessage, type HelperRequest } from './protocol.js';

/** What the control server asks of the helper. */
export interface ControlHandler {
  /** The greeting each new client gets: current state, pid, start time. */
  hello(): HelperMessage;
  /** Runs one request; its value becomes the reply's result, a throw its error. */
  request(req: HelperRequest): Promise<unknown>;
}

/**
 * The helper's control socket: JSON lines, any number of clients (bentod, and a person debugging with
 * `nc -U`), requests answered by id, state changes broadcast to everyone.
 */
export class ControlServer {
  private readonly clients = new Set<net.Socket>();
  private readonly server: net.Server;

  constructor(
    private readonly socketPath: string,
    private readonly handler: ControlHandler,
    private readonly log: (line: string) => void,
  ) {
    this.server = net.createServer((sock) => this.accept(sock));
  }

  /** Starts listening; the socket is 0600. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.socketPath, () => {
        this.server.off('error', reject);
        // 0600 like every bento socket (the umask leaves 0700); the VM folder is 0700 as well.
        fs.chmodSync(this.socketPath, 0o600);
        resolve();
      });
    });
  }

  private accept(sock: net.Socket): void {
    this.clients.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => this.clients.delete(sock));
    const lines = new LineSplitter(
      (line) => this.handle(sock, line),
      () => {
        this.log('control client sent an over-long line; disconnecting it');
        sock.destroy();
      },
    );
    sock.on('data', (chunk: Buffer) => lines.push(chunk));
    send(sock, this.handler.hello());
  }

  private handle(sock: net.Socket, line: string): void {
    const req = parseLine(requestSchema, line);
    if (!req) {
      const id = idOf(line);
      send(sock, { type: 'reply', id, ok: false, error: { kind: 'protocol', message: `not a valid request: ${line.slice(0, 200)}` } });
      return;
    }
    this.handler.request(req).then(
      (result) => send(sock, { type: 'reply', id: req.id, ok: true, result: result ?? null }),
      (err: unknown) => send(sock, { type: 'reply', id: req.id, ok: false, error: wireErrorFrom(err) }),
    );
  }

  /** Sends a message to every client. */
  broadcast(msg: HelperMessage): void {
    for (const c of this.clients) send(c, msg);
  }

  /** Ends every client after what was sent reaches it, then stops listening and removes the socket. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.clients].map(
        (c) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => (c.destroy(), resolve()), 1_000);
            c.end(() => (clearTimeout(timer), resolve()));
          }),
      ),
    );
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }
}

function send(sock: net.Socket, msg: HelperMessage): void {
  if (!sock.destroyed && sock.writable) sock.write(JSON.stringify(msg) + '\n');
}

/** The id of a request we could not validate, so the client can still match the error to its call. */
function idOf(line: string): number | null {
  try {
    const v = (JSON.parse(line) as { id?: unknown }).id;
    return typeof v === 'number' ? v : null;
  } catch {
    return null;
  }
}
