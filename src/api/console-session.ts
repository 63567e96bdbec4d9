import fs from 'node:fs';
import net from 'node:net';
import type { WebSocket } from 'ws';
import type { ConsoleEndpoint } from '../vm/drivers/driver.js';
import { LogFollower, watchLog } from './log-follow.js';

/** A viewer with this much unsent output gets no more until it drains: memory stays bounded. */
const HIGH_WATER = 1024 * 1024;

/** Control messages bentod sends to a console viewer as WebSocket text frames. */
export type ConsoleControl =
  | { type: 'hello'; name: string; role: 'writer' | 'reader'; viewers: number }
  | { type: 'role'; role: 'writer' | 'reader'; reason: string }
  | { type: 'notice'; message: string }
  | { type: 'closed'; reason: string };

interface Viewer {
  ws: WebSocket;
  warnedReadOnly: boolean;
  /** Reads the log for this viewer at its own pace. */
  follower: LogFollower;
}

/**
 * One running VM's console in bentod. Output comes from the serial log that qemu writes itself, so
 * nothing is lost while bentod is away and every viewer sees exactly the bytes of the log (scrollback
 * and live output never overlap). Each viewer keeps its own offset into the log, so a slow viewer
 * only falls behind (its backlog stays on disk) and never slows the others or grows memory. Input
 * goes to the chardev socket; bentod also drains that socket, since an unread socket would
 * eventually stall the guest's console.
 */
export class ConsoleSession {
  private readonly viewers = new Set<Viewer>();
  private writer: Viewer | null = null;
  /** The log's size when the session opened: where a viewer's scrollback is counted from. */
  private readonly openedAt: number;
  private chardev: net.Socket | null = null;
  private readonly unwatch: () => void;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly endpoint: ConsoleEndpoint,
    private readonly log: (line: string) => void,
  ) {
    this.openedAt = this.logSize();
    this.connect(0);
    this.unwatch = watchLog(endpoint.log, () => this.pump());
  }

  private logSize(): number {
    try {
      return fs.statSync(this.endpoint.log).size;
    } catch {
      return 0;
    }
  }

  private connect(attempt: number): void {
    if (this.closed) return;
    const sock = net.connect(this.endpoint.socket);
    sock.on('connect', () => {
      this.chardev = sock;
    });
    // The bytes are also in the log, which is what viewers read; this is only a wake-up.
    sock.on('data', () => this.pump());
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (this.chardev === sock) this.chardev = null;
      if (!this.closed && attempt < 50) setTimeout(() => this.connect(attempt + 1), Math.min(50 * 2 ** attempt, 1000));
    });
  }

  /** Adds a viewer: it gets up to `scrollback` bytes of recent output, then everything new. */
  attach(ws: WebSocket, opts: { force: boolean; scrollback: number; readOnly: boolean; fromBoot: boolean }): void {
    // From boot: everything this run printed (start --console); otherwise the recent tail.
    const end = Math.max(this.logSize(), this.openedAt);
    const start = opts.fromBoot ? Math.min(this.endpoint.bootOffset, end) : Math.max(0, end - opts.scrollback);
    const sock = (): net.Socket | undefined => (ws as unknown as { _socket?: net.Socket })._socket;
    const v: Viewer = {
      ws,
      warnedReadOnly: false,
      follower: new LogFollower(this.endpoint.log, start, {
        write: (chunk) => ws.send(chunk, { binary: true }),
        full: () => ws.bufferedAmount >= HIGH_WATER,
        // ws keeps its net.Socket as `_socket`; without one there is nothing to wait for.
        whenDrained: (cb) => (sock() ? sock()!.once('drain', cb) : setTimeout(cb, 100)),
        open: () => ws.readyState === ws.OPEN,
      }),
    };
    this.viewers.add(v);
    if (!opts.readOnly && (this.writer === null || opts.force)) this.setWriter(v, opts.force ? 'taken over with --force' : 'first viewer');
    this.send(v, { type: 'hello', name: this.name, role: this.writer === v ? 'writer' : 'reader', viewers: this.viewers.size });
    if (this.writer !== v && !opts.readOnly) {
      this.send(v, { type: 'notice', message: 'read-only: another viewer holds the input (attach with --force to take it)' });
    }
    this.pump();
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.input(v, data as Buffer);
    });
    ws.on('close', () => this.detach(v));
    ws.on('error', () => this.detach(v));
  }

  private setWriter(v: Viewer, reason: string): void {
    const prev = this.writer;
    this.writer = v;
    if (prev && prev !== v) this.send(prev, { type: 'role', role: 'reader', reason: 'another viewer took the input with --force' });
    if (prev !== v && this.viewers.size > 1) this.log(`${this.name}: console input now held by a new viewer (${reason})`);
  }

  private detach(v: Viewer): void {
    if (!this.viewers.delete(v)) return;
    if (this.writer === v) this.writer = null;
  }

  private input(v: Viewer, data: Buffer): void {
    if (this.writer !== v) {
      if (!v.warnedReadOnly) this.send(v, { type: 'notice', message: 'read-only: your keys are not sent (attach with --force to take the input)' });
      v.warnedReadOnly = true;
      return;
    }
    this.chardev?.write(data);
  }

  private send(v: Viewer, msg: ConsoleControl): void {
    if (v.ws.readyState === v.ws.OPEN) v.ws.send(JSON.stringify(msg));
  }

  /** Sends every viewer what the log gained, as far as each one's send buffer allows. */
  pump(): void {
    if (this.closed) return;
    for (const v of this.viewers) v.follower.pump();
  }

  /** Ends the session: viewers get the reason, then their connection closes. */
  close(reason: string): void {
    if (this.closed) return;
    // Every viewer gets the rest of the output before the close frame, however far behind it is.
    for (const v of this.viewers) v.follower.pump({ ignoreFull: true });
    this.closed = true;
    this.unwatch();
    this.chardev?.destroy();
    for (const v of this.viewers) {
      this.send(v, { type: 'closed', reason });
      v.ws.close(1000, 'console closed');
    }
    this.viewers.clear();
  }
}
