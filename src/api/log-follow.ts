import fs from 'node:fs';
import { openLogFile, type LogPosition } from '../vm/serial-log.js';

/** Largest chunk read from a log at once. */
const READ_CHUNK = 256 * 1024;

/** Where a follower sends what it reads. */
export interface LogSink {
  /** Sends a chunk; the buffer is the sink's to keep. */
  write(chunk: Buffer): void;
  /** True while the sink has enough queued: the follower stops and waits for `whenDrained`. */
  full(): boolean;
  /** Calls back once the sink can take more. */
  whenDrained(cb: () => void): void;
  /** False once the sink is gone: the follower stops for good. */
  open(): boolean;
}

/**
 * Reads a growing log from a position into a sink at the sink's pace: a slow reader falls behind on
 * disk, never in memory. It keeps the file open, so when bento-vmm rotates the log (serial.log
 * becomes serial.log.1) it reads the old file to its end and then goes on with the new serial.log
 * from its start: nothing is skipped and nothing is sent twice. A follower that starts in
 * serial.log.1 moves on to serial.log the same way.
 */
export class LogFollower {
  private waiting = false;
  private fd: number | null = null;
  private file: string;
  private offset: number;
  private closed = false;

  constructor(
    /** The live log (serial.log) that the follower ends up on. */
    private readonly log: string,
    start: LogPosition,
    private readonly sink: LogSink,
  ) {
    this.file = start.file;
    this.offset = start.offset;
  }

  /** Sends what the log holds beyond the position, as far as the sink allows. */
  pump(opts: { ignoreFull?: boolean } = {}): void {
    if (this.closed || (this.waiting && !opts.ignoreFull)) return;
    for (;;) {
      if (this.fd === null) {
        try {
          this.fd = openLogFile(this.file);
        } catch {
          return; // not created yet; the next wake-up retries
        }
        if (fs.fstatSync(this.fd).size < this.offset) this.offset = 0; // truncated by hand
      }
      const more = this.drain(this.fd, opts.ignoreFull === true);
      if (more !== 'eof') return;
      if (!this.rotatedAway(this.fd)) return;
      // This file is complete (bento-vmm writes nothing to a file after renaming it): read what
      // came since the size check, then go on with the live log.
      if (this.drain(this.fd, true) !== 'eof') return;
      fs.closeSync(this.fd);
      this.fd = null;
      this.file = this.log;
      this.offset = 0;
    }
  }

  private drain(fd: number, ignoreFull: boolean): 'eof' | 'paused' | 'gone' {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, size - this.offset)));
    while (this.offset < size) {
      if (!this.sink.open()) return 'gone';
      if (this.sink.full() && !ignoreFull) {
        this.waiting = true;
        this.sink.whenDrained(() => {
          this.waiting = false;
          this.pump();
        });
        return 'paused';
      }
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - this.offset), this.offset);
      if (n <= 0) break;
      this.offset += n;
      this.sink.write(Buffer.from(buf.subarray(0, n)));
    }
    return 'eof';
  }

  /** True when the open file is no longer the live log (it was rotated, or is serial.log.1). */
  private rotatedAway(fd: number): boolean {
    if (this.file !== this.log) return true;
    try {
      return fs.lstatSync(this.log).ino !== fs.fstatSync(fd).ino;
    } catch {
      return false; // the live log does not exist yet (a rename is in progress): wait
    }
  }

  /** True while the follower waits for its sink to drain (it has not caught up with the log). */
  get behind(): boolean {
    return this.waiting;
  }

  /** Lets go of the open file. */
  close(): void {
    this.closed = true;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function inode(file: string): number | null {
  try {
    return fs.lstatSync(file).ino;
  } catch {
    return null;
  }
}

/**
 * Calls `onChange` when a file may have grown: fs.watch, with a slow timer as a safety net for
 * missed events (and for a file that does not exist yet). Returns the disposer.
 */
export function watchLog(file: string, onChange: () => void): () => void {
  let watcher: fs.FSWatcher | null = null;
  const watch = (): void => {
    try {
      watcher = fs.watch(file, onChange);
      watcher.on('error', () => undefined);
    } catch {
      watcher = null;
    }
  };
  let ino = inode(file);
  watch();
  const timer = setInterval(() => {
    // After a rotation the watcher follows the renamed file: watch the new one.
    const now = inode(file);
    if (!watcher || now !== ino) {
      ino = now;
      watcher?.close();
      watch();
    }
    onChange();
  }, 1000);
  return () => {
    clearInterval(timer);
    watcher?.close();
  };
}
