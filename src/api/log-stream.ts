import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import { LogFollower, watchLog } from './log-follow.js';

/** How much of the log `follow` starts with, so a reader sees recent lines, not the whole history. */
const FOLLOW_TAIL_BYTES = 64 * 1024;
/** Queued bytes past which a follower waits for the response to drain. */
const HIGH_WATER = 1024 * 1024;

/**
 * Streams a serial log to an HTTP response. Without follow: the whole file. With follow: the last
 * 64 KiB, then every byte appended. Returns a function that ends a follow (the VM was deleted).
 */
export function streamLog(file: string, res: ServerResponse, follow: boolean): () => void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
  // Send the headers now: a follower of an empty log would otherwise wait for the first byte before
  // its request even resolves, and could not close a stream it never got.
  res.flushHeaders();
  if (!follow) {
    const rs = fs.createReadStream(file);
    rs.on('error', () => res.end());
    rs.pipe(res);
    return () => undefined;
  }
  let size = 0;
  try {
    size = fs.statSync(file).size;
  } catch {
    size = 0;
  }
  const follower = new LogFollower(file, Math.max(0, size - FOLLOW_TAIL_BYTES), {
    write: (chunk) => void res.write(chunk),
    full: () => res.writableLength >= HIGH_WATER,
    whenDrained: (cb) => res.once('drain', cb),
    open: () => !res.destroyed && !res.writableEnded,
  });
  const stop = watchLog(file, () => follower.pump());
  res.on('close', stop);
  follower.pump();
  return () => {
    stop();
    res.end();
  };
}
