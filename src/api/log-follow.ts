import fs from 'node:fs';

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
 * Reads a growing log from an offset into a sink at the sink's pace: a slow reader falls behind on
 * disk, never in memory. A log that shrank (rotated or truncated) is read again from its start.
 */
export class LogFollower {
  private waiting = false;

  constructor(
    private readonly file: string,
    public offset: number,
    private readonly sink: LogSink,
  ) {}

  /** Sends what the log holds beyond the offset, as far as the sink allows. */
  pump(opts: { ignoreFull?: boolean } = {}): void {
    if (this.waiting && !opts.ignoreFull) return;
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return; // not created yet (qemu creates it on its first write); the next wake-up retries
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (this.offset > size) this.offset = 0;
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(0, size - this.offset)));
      while (this.offset < size && this.sink.open()) {
        if (this.sink.full() && !opts.ignoreFull) {
          this.waiting = true;
          this.sink.whenDrained(() => {
            this.waiting = false;
            this.pump();
          });
          return;
        }
        const n = fs.readSync(fd, buf, 0, Math.min(buf.length, size - this.offset), this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.sink.write(Buffer.from(buf.subarray(0, n)));
      }
    } finally {
      fs.closeSync(fd);
    }
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
  watch();
  const timer = setInterval(() => {
    if (!watcher) watch();
    onChange();
  }, 1000);
  return () => {
    clearInterval(timer);
    watcher?.close();
  };
}
