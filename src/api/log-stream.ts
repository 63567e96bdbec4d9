import fs from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { VmFiles } from '../vm/paths.js';
import { bootSegments, openLogFile, scrollbackStart, type BootSelector, type LogSegment } from '../vm/serial-log.js';
import { LogFollower, watchLog } from './log-follow.js';

/** How much of the log `follow` starts with, so a reader sees recent lines, not the whole history. */
const FOLLOW_TAIL_BYTES = 64 * 1024;
/** Queued bytes past which a reader waits for the response to drain. */
const HIGH_WATER = 1024 * 1024;
const READ_CHUNK = 256 * 1024;

/**
 * Streams a VM's serial log to an HTTP response. Without follow: the chosen boot (by default the
 * current or last one, each starting with its separator record), or every boot still on disk. With
 * follow: the last 64 KiB of the current boot, from a line start, then every byte appended, across
 * rotations. Returns a function that ends a follow (the VM was deleted), or null (nothing written)
 * when the chosen boot is no longer in the log.
 */
export function streamLog(files: VmFiles, res: ServerResponse, opts: { follow: boolean; boot: BootSelector }): (() => void) | null {
  const segments = opts.follow ? [] : bootSegments(files, opts.boot);
  if (segments === null) return null;
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' });
  // Send the headers now: a follower of an empty log would otherwise wait for the first byte before
  // its request even resolves, and could not close a stream it never got.
  res.flushHeaders();
  if (!opts.follow) {
    sendSegments(segments, res);
    return () => undefined;
  }
  const follower = new LogFollower(files.serialLog, scrollbackStart(files, FOLLOW_TAIL_BYTES), {
    write: (chunk) => void res.write(chunk),
    full: () => res.writableLength >= HIGH_WATER,
    whenDrained: (cb) => res.once('drain', cb),
    open: () => !res.destroyed && !res.writableEnded,
  });
  const stop = watchLog(files.serialLog, () => follower.pump());
  res.on('close', () => {
    stop();
    follower.close();
  });
  follower.pump();
  return () => {
    stop();
    follower.close();
    res.end();
  };
}

/** Writes the segments in order at the response's pace, then ends it. */
function sendSegments(segments: LogSegment[], res: ServerResponse): void {
  const next = (i: number): void => {
    const seg = segments[i];
    if (!seg || res.destroyed) {
      res.end();
      return;
    }
    let fd: number;
    try {
      fd = openLogFile(seg.file);
    } catch {
      next(i + 1); // serial.log.1 need not exist
      return;
    }
    const end = seg.end ?? fs.fstatSync(fd).size;
    const rs = fs.createReadStream('', { fd, start: seg.start, end: Math.max(seg.start, end) - 1, highWaterMark: READ_CHUNK });
    if (end <= seg.start) {
      rs.destroy();
      next(i + 1);
      return;
    }
    rs.on('error', () => res.end());
    rs.on('end', () => next(i + 1));
    rs.pipe(res, { end: false });
  };
  next(0);
}
