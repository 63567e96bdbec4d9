import { useEffect, useState } from 'react';
import { errorMessage } from '../../vm/errors.js';
import { createLogBuffer, type LogBuffer } from '../log-buffer.js';
import type { UiClient } from '../ui-client.js';

/** What a log tail shows. */
export interface LogTail {
  lines: readonly string[];
  /** Lines dropped from the top so far. */
  dropped: number;
  error: string | null;
  /** Grows with every update. */
  version: number;
}

/** Options of useLogTail. */
export interface LogTailOptions {
  isActive: boolean;
  maxLines: number;
  /** Wait before opening, so scrolling through VMs does not open a stream per row. */
  delayMs?: number;
  /** Most screen updates per second while output flows. */
  maxFps?: number;
  /** Changing it reopens the stream (after bentod came back). */
  epoch?: number;
}

const EMPTY: LogTail = { lines: [], dropped: 0, error: null, version: 0 };

/**
 * Follows a VM's serial log through bentod (the last 64 KiB, then live). Output only marks the
 * buffer dirty; the screen updates at most maxFps times a second, so a chatty guest costs frames,
 * not a render per chunk.
 */
export function useLogTail(client: UiClient, name: string | null, opts: LogTailOptions): LogTail {
  const { isActive, maxLines, delayMs = 0, maxFps = 10, epoch = 0 } = opts;
  // Tagged with the stream it came from, so a new VM shows nothing stale without a reset render.
  const [tail, setTail] = useState<{ key: string; tail: LogTail } | null>(null);
  const key = `${name ?? ''}\0${epoch}`;
  useEffect(() => {
    if (!isActive || !name) return;
    let closed = false;
    let stream: { destroy(): void } | null = null;
    let flush: NodeJS.Timeout | null = null;
    const buf: LogBuffer = createLogBuffer(maxLines);
    const publish = (): void => {
      flush = null;
      if (!closed) setTail({ key, tail: { lines: buf.lines(), dropped: buf.dropped(), error: null, version: buf.version() } });
    };
    const open = setTimeout(() => {
      client.stream(`/api/vms/${encodeURIComponent(name)}/log?follow=1`).then(
        (res) => {
          if (closed) return void res.destroy();
          stream = res;
          res.on('data', (c: Buffer) => {
            buf.push(c);
            flush ??= setTimeout(publish, 1000 / maxFps);
          });
          res.on('error', () => undefined);
        },
        (err: unknown) => {
          if (!closed) setTail({ key, tail: { ...EMPTY, error: errorMessage(err) } });
        },
      );
    }, delayMs);
    return () => {
      closed = true;
      clearTimeout(open);
      if (flush) clearTimeout(flush);
      stream?.destroy();
    };
  }, [client, name, isActive, maxLines, delayMs, maxFps, epoch, key]);
  return isActive && tail?.key === key ? tail.tail : EMPTY;
}
