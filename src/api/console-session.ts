import fs from 'node:fs';
import net from 'node:net';
import type { WebSocket } from 'ws';
import type { ConsoleEndpoint } from '../vm/drivers/driver.js';

/** A viewer with this much unsent output gets no more until it drains: memory stays bounded. */
const HIGH_WATER = 1024 * 1024;
/** Largest chunk read from the log at once. */
const READ_CHUNK = 256 * 1024;
/** A safety net for a drain event that never comes (the socket closed meanwhile). */
const RETRY_MS = 250;

/** Control messages bentod sends to a console viewer as WebSocket text frames. */
export type ConsoleControl =
  | { type: 'hello'; name: string; role: 'writer' | 'reader'; viewers: number }
  | { type: 'role'; role: 'writer' | 'reader'; reason: string }
  | { type: 'notice'; message: string }
  | { type: 'closed'; reason: string };

interface Viewer {
  ws: WebSocket;
  warnedReadOnly: boolean;
  /** How far into the log this viewer has been sent: each viewer reads at its own pace. */
  offset: number;
  /** Waiting for its socket to drain. */
  draining: boolean;
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
  private retry: NodeJS.Timeout | null = null;
  /** Set while closing: every viewer gets the rest of the output before the close frame. */
  private finishing = false;
  private chardev: net.Socket | null = null;
  private watcher: fs.FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private reading = false;
  private again = false;
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK);

  constructor(
    readonly name: string,
    private readonly endpoint: ConsoleEndpoint,
    private readonly log: (line: string) => void,
  ) {
    this.openedAt = this.logSize();
    this.connect(0);
    try {
      this.watcher = fs.watch(endpoint.log, () => this.pump());
      this.watcher.on('error', () => undefined);
    } catch {
      this.watcher = null;
    }
    // A slow safety net for a missed watch event; the chardev's own data events wake us first.
    this.timer = setInterval(() => this.pump(), 1000);
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
    const v: Viewer = { ws, warnedReadOnly: false, offset: start, draining: false };
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

  /** Sends every viewer what the log holds beyond its offset, as far as its send buffer allows. */
  pump(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    let blocked = false;
    let fd: number | null = null;
    try {
      fd = fs.openSync(this.endpoint.log, 'r');
      const size = fs.fstatSync(fd).size;
      for (const v of this.viewers) {
        if (v.offset > size) v.offset = 0; // truncated by rotation
        while (v.offset < size && v.ws.readyState === v.ws.OPEN) {
          if (v.ws.bufferedAmount >= HIGH_WATER && !this.finishing) {
            blocked = true;
            this.whenDrained(v);
            break;
          }
          const n = fs.readSync(fd, this.buf, 0, Math.min(READ_CHUNK, size - v.offset), v.offset);
          if (n <= 0) break;
          v.offset += n;
          v.ws.send(Buffer.from(this.buf.subarray(0, n)), { binary: true });
        }
      }
    } catch {
      // The log is not there yet (qemu creates it on its first write); the next wake-up retries.
    } finally {
      if (fd !== null) fs.closeSync(fd);
      this.reading = false;
    }
    if (blocked && !this.retry) {
      this.retry = setTimeout(() => {
        this.retry = null;
        this.pump();
      }, RETRY_MS);
    }
    if (this.again) {
      this.again = false;
      setImmediate(() => this.pump());
    }
  }

  /** Pumps again as soon as the viewer's socket drains (ws keeps its net.Socket as `_socket`). */
  private whenDrained(v: Viewer): void {
    const sock = (v.ws as unknown as { _socket?: net.Socket })._socket;
    if (!sock || v.draining) return;
    v.draining = true;
    sock.once('drain', () => {
      v.draining = false;
      this.pump();
    });
  }

  /** Ends the session: viewers get the reason, then their connection closes. */
  close(reason: string): void {
    if (this.closed) return;
    this.finishing = true;
    this.pump();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.retry) clearTimeout(this.retry);
    this.watcher?.close();
    this.chardev?.destroy();
    for (const v of this.viewers) {
      this.send(v, { type: 'closed', reason });
      v.ws.close(1000, 'console closed');
    }
    this.viewers.clear();
  }
}
