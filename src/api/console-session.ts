import net from 'node:net';
import path from 'node:path';
import type { WebSocket } from 'ws';
import type { ConsoleEndpoint } from '../vm/drivers/driver.js';
import { vmFiles, type VmFiles } from '../vm/paths.js';
import { bootPosition, readLogIndex, scrollbackStart, type LogPosition } from '../vm/serial-log.js';
import { LogFollower } from './log-follow.js';

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

/** How often viewers are pumped without a wake-up from the log owner. */
const SAFETY_PUMP_MS = 1_000;
/** How long a viewer may take to read the rest of the output after the VM stopped. */
const CLOSE_DRAIN_MS = 30_000;

/**
 * One running VM's console in bentod. Output comes from the serial log that bento-vmm writes from
 * the console socket stream (it outlives bentod, so nothing is lost while bentod is away), and every
 * viewer sees exactly the bytes of the log. Each viewer keeps its own position in the log, so a slow
 * viewer only falls behind (its backlog stays on disk) and never slows the others or grows memory.
 * Input goes to bento-vmm's socket with flow control: while the guest's console is full, bento-vmm
 * stops reading, this socket's buffer fills, and the writer's WebSocket is paused in turn.
 */
export class ConsoleSession {
  private readonly viewers = new Set<Viewer>();
  private writer: Viewer | null = null;
  private chardev: net.Socket | null = null;
  private readonly unwatch: () => void;
  private readonly files: VmFiles;
  private closed = false;

  constructor(
    readonly name: string,
    private readonly endpoint: ConsoleEndpoint,
    private readonly log: (line: string) => void,
    /** onIdle: called when the last viewer leaves an open session (a console opened on demand then closes). */
    private readonly opts: { onIdle?: () => void } = {},
  ) {
    this.files = vmFiles(path.dirname(endpoint.log));
    this.connect(0);
    // The log owner wakes us on its socket for every write; the timer only covers a wake-up lost
    // while the socket reconnects. (Watching the file as well would read the log twice per write.)
    const safety = setInterval(() => this.pump(), SAFETY_PUMP_MS);
    safety.unref();
    this.unwatch = () => clearInterval(safety);
  }

  private connect(attempt: number): void {
    if (this.closed) return;
    const sock = net.connect(this.endpoint.socket);
    sock.on('connect', () => {
      this.chardev = sock;
    });
    // What the socket sends is a wake-up (the log grew), never output: viewers read the log.
    sock.on('data', () => this.pump());
    sock.on('drain', () => this.writer && resumeInput(this.writer.ws));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      if (this.chardev === sock) this.chardev = null;
      if (this.writer) resumeInput(this.writer.ws);
      if (!this.closed && attempt < 50) setTimeout(() => this.connect(attempt + 1), Math.min(50 * 2 ** attempt, 1000));
    });
  }

  /** How many viewers are attached. */
  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Adds a viewer: it gets up to `scrollback` bytes of recent output (this boot only), then everything new. */
  attach(ws: WebSocket, opts: { force: boolean; scrollback: number; readOnly: boolean; fromBoot: boolean }): void {
    const start = opts.fromBoot ? this.bootStart() : scrollbackStart(this.files, opts.scrollback, this.endpoint.bootOffset ?? 0);
    const v: Viewer = {
      ws,
      warnedReadOnly: false,
      follower: new LogFollower(this.endpoint.log, start, {
        write: (chunk) => ws.send(chunk, { binary: true }),
        full: () => ws.bufferedAmount >= HIGH_WATER,
        whenDrained: (cb) => {
          const raw = wsSocket(ws);
          // ws keeps its net.Socket as `_socket`; without one there is nothing to wait for.
          if (raw) raw.once('drain', cb);
          else setTimeout(cb, 100);
        },
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

  /** The current boot's separator record (everything this run printed), for `start --console`. */
  private bootStart(): LogPosition {
    const index = readLogIndex(this.files);
    const last = index?.boots.at(-1);
    return (index && last && bootPosition(this.files, index, last)) || { file: this.endpoint.log, offset: this.endpoint.bootOffset ?? 0 };
  }

  private setWriter(v: Viewer, reason: string): void {
    const prev = this.writer;
    this.writer = v;
    if (prev && prev !== v) {
      resumeInput(prev.ws);
      this.send(prev, { type: 'role', role: 'reader', reason: 'another viewer took the input with --force' });
    }
    if (prev !== v && this.viewers.size > 1) this.log(`${this.name}: console input now held by a new viewer (${reason})`);
  }

  private detach(v: Viewer): void {
    if (!this.viewers.delete(v)) return;
    v.follower.close();
    if (this.writer === v) this.writer = null;
    if (this.viewers.size === 0 && !this.closed) this.opts.onIdle?.();
  }

  private input(v: Viewer, data: Buffer): void {
    if (this.writer !== v) {
      if (!v.warnedReadOnly) this.send(v, { type: 'notice', message: 'read-only: your keys are not sent (attach with --force to take the input)' });
      v.warnedReadOnly = true;
      return;
    }
    // Flow control: stop reading the viewer while bento-vmm has not taken what we sent.
    if (this.chardev && !this.chardev.write(data)) wsSocket(v.ws)?.pause();
  }

  private send(v: Viewer, msg: ConsoleControl): void {
    if (v.ws.readyState === v.ws.OPEN) v.ws.send(JSON.stringify(msg));
  }

  /** Sends every viewer what the log gained, as far as each one's send buffer allows. */
  pump(): void {
    for (const v of this.viewers) v.follower.pump();
  }

  /**
   * Ends the session: each viewer first reads the rest of the output at its own pace (memory stays
   * bounded however many viewers are behind), then gets the reason and its connection closes.
   */
  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.chardev?.destroy();
    const deadline = Date.now() + CLOSE_DRAIN_MS;
    const finishViewer = (v: Viewer): void => {
      if (!this.viewers.has(v)) return;
      v.follower.pump();
      if (v.follower.behind && Date.now() < deadline && v.ws.readyState === v.ws.OPEN) {
        setTimeout(() => finishViewer(v), 50);
        return;
      }
      this.send(v, { type: 'closed', reason });
      v.ws.close(1000, 'console closed');
      this.detach(v);
      if (this.viewers.size === 0) this.unwatch();
    };
    if (this.viewers.size === 0) this.unwatch();
    for (const v of [...this.viewers]) finishViewer(v);
  }
}

function wsSocket(ws: WebSocket): net.Socket | undefined {
  return (ws as unknown as { _socket?: net.Socket })._socket;
}

function resumeInput(ws: WebSocket): void {
  wsSocket(ws)?.resume();
}
