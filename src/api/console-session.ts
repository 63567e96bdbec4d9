import fs from 'node:fs';
import net from 'node:net';
import type { WebSocket } from 'ws';
import type { ConsoleEndpoint } from '../vm/drivers/driver.js';

/** A viewer whose unsent output passes this is cut off rather than letting memory grow. */
const MAX_VIEWER_BUFFER = 16 * 1024 * 1024;
/** Largest chunk read from the log at once. */
const READ_CHUNK = 256 * 1024;

/** Control messages bentod sends to a console viewer as WebSocket text frames. */
export type ConsoleControl =
  | { type: 'hello'; name: string; role: 'writer' | 'reader'; viewers: number }
  | { type: 'role'; role: 'writer' | 'reader'; reason: string }
  | { type: 'notice'; message: string }
  | { type: 'closed'; reason: string };

interface Viewer {
  ws: WebSocket;
  warnedReadOnly: boolean;
}

/**
 * One running VM's console in bentod. Output comes from the serial log that qemu writes itself, so
 * nothing is lost while bentod is away and every viewer sees exactly the bytes of the log (scrollback
 * and live output never overlap). Input goes to the chardev socket; bentod also drains that socket,
 * since an unread socket would eventually stall the guest's console.
 */
export class ConsoleSession {
  private readonly viewers = new Set<Viewer>();
  private writer: Viewer | null = null;
  private offset: number;
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
    this.offset = this.logSize();
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
    const v: Viewer = { ws, warnedReadOnly: false };
    this.viewers.add(v);
    if (!opts.readOnly && (this.writer === null || opts.force)) this.setWriter(v, opts.force ? 'taken over with --force' : 'first viewer');
    this.send(v, { type: 'hello', name: this.name, role: this.writer === v ? 'writer' : 'reader', viewers: this.viewers.size });
    if (this.writer !== v && !opts.readOnly) {
      this.send(v, { type: 'notice', message: 'read-only: another viewer holds the input (attach with --force to take it)' });
    }
    this.pump();
    // From boot: everything this run printed (start --console); otherwise the recent tail.
    const start = opts.fromBoot ? Math.min(this.endpoint.bootOffset, this.offset) : Math.max(0, this.offset - opts.scrollback);
    if (this.offset > start) {
      const fd = fs.openSync(this.endpoint.log, 'r');
      try {
        const tail = Buffer.alloc(this.offset - start);
        fs.readSync(fd, tail, 0, tail.length, start);
        ws.send(tail, { binary: true });
      } finally {
        fs.closeSync(fd);
      }
    }
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

  /** Reads what the log gained since the last read and sends it to every viewer. */
  pump(): void {
    if (this.closed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    let fd: number | null = null;
    try {
      fd = fs.openSync(this.endpoint.log, 'r');
      const size = fs.fstatSync(fd).size;
      if (size < this.offset) this.offset = 0; // truncated by rotation
      while (this.offset < size) {
        const n = fs.readSync(fd, this.buf, 0, Math.min(READ_CHUNK, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        const chunk = Buffer.from(this.buf.subarray(0, n));
        for (const v of this.viewers) {
          if (v.ws.bufferedAmount > MAX_VIEWER_BUFFER) {
            this.send(v, { type: 'closed', reason: 'this viewer fell too far behind the console output' });
            v.ws.close(1013, 'too slow');
            this.detach(v);
            continue;
          }
          v.ws.send(chunk, { binary: true });
        }
      }
    } catch {
      // The log is not there yet (qemu creates it on its first write); the next wake-up retries.
    } finally {
      if (fd !== null) fs.closeSync(fd);
      this.reading = false;
    }
    if (this.again) {
      this.again = false;
      setImmediate(() => this.pump());
    }
  }

  /** Ends the session: viewers get the reason, then their connection closes. */
  close(reason: string): void {
    if (this.closed) return;
    this.pump();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.close();
    this.chardev?.destroy();
    for (const v of this.viewers) {
      this.send(v, { type: 'closed', reason });
      v.ws.close(1000, 'console closed');
    }
    this.viewers.clear();
  }
}
