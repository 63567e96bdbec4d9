import type { IncomingMessage, ServerResponse } from 'node:http';
import type { VmManager } from '../vm/manager.js';

/** Keeps idle connections from being cut by anything in between, and lets clients notice a dead daemon. */
const HEARTBEAT_MS = 15_000;

/**
 * Serves /api/events as server-sent events: each state change as one `data:` line of JSON, pushed
 * as it happens, and `created` / `changed` / `deleted` named events for definitions. With `snapshot`, the stream opens with an `event: snapshot` carrying every VM, so a
 * client never misses a change between listing and subscribing.
 */
export function openEventStream(req: IncomingMessage, res: ServerResponse, manager: VmManager, snapshot: boolean): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(': bentod events\n\n');
  if (snapshot) res.write(`event: snapshot\ndata: ${JSON.stringify(manager.list())}\n\n`);
  const off = manager.onState((ev) => {
    res.write(`data: ${JSON.stringify(ev)}\n\n`);
  });
  // Definitions coming and going are named events, so readers of plain state events can ignore them.
  const offChange = manager.onChange((ev) => {
    res.write(`event: ${ev.kind}\ndata: ${JSON.stringify(ev)}\n\n`);
  });
  const beat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  const end = (): void => {
    clearInterval(beat);
    off();
    offChange();
  };
  req.on('close', end);
  res.on('close', end);
}
