import fs from 'node:fs';
import type { ServerResponse } from 'node:http';

/** How much of the log `follow` starts with, so a reader sees recent lines, not the whole history. */
const FOLLOW_TAIL_BYTES = 64 * 1024;

/**
 * Streams a serial log to an HTTP response. Without follow: the whole file. With follow: the last
 * 64 KiB, then every byte appended (fs.watch, with a slow timer as a safety net for missed events).
 */
export function streamLog(file: string, res: ServerResponse, follow: boolean): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
  // Send the headers now: a follower of an empty log would otherwise wait for the first byte before
  // its request even resolves, and could not close a stream it never got.
  res.flushHeaders();
  if (!follow) {
    const rs = fs.createReadStream(file);
    rs.on('error', () => res.end());
    rs.pipe(res);
    return;
  }
  let offset = 0;
  try {
    offset = Math.max(0, fs.statSync(file).size - FOLLOW_TAIL_BYTES);
  } catch {
    offset = 0;
  }
  let reading = false;
  let again = false;
  const pump = (): void => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      reading = false;
      return;
    }
    const buf = Buffer.allocUnsafe(256 * 1024);
    try {
      for (;;) {
        const size = fs.fstatSync(fd).size;
        // The log was truncated or rotated: start over from its beginning.
        if (size < offset) offset = 0;
        const n = fs.readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        if (!res.write(Buffer.from(buf.subarray(0, n)))) break;
      }
    } finally {
      fs.closeSync(fd);
      reading = false;
    }
    if (again) {
      again = false;
      setImmediate(pump);
    }
  };
  let watcher: fs.FSWatcher | null = null;
  const watch = (): void => {
    try {
      watcher = fs.watch(file, () => pump());
      watcher.on('error', () => undefined);
    } catch {
      watcher = null;
    }
  };
  watch();
  const timer = setInterval(() => {
    if (!watcher) watch();
    pump();
  }, 1000);
  res.on('drain', pump);
  res.on('close', () => {
    clearInterval(timer);
    watcher?.close();
  });
  pump();
}
