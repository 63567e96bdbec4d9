import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PullProgress } from '../vm/images/types.js';
import type { StatsSampler } from '../vm/stats.js';
import type { Disposer, HostEvent, StateEvent, StatsEvent, Vm, VmChange, VmStatsNotes } from '../vm/types.js';

/** An SSE comment this often lets clients tell a live bentod from a dead or stuck one (they give up after 15 s). */
const HEARTBEAT_MS = 5_000;
/** Most bytes bentod holds for one events client that does not read; past it, events for that client are dropped. */
export const SSE_MAX_QUEUED_BYTES = 256 * 1024;
/** A client still over the cap this long after it filled is disconnected. */
export const SSE_STUCK_MS = 60_000;

/** One subscriber's outgoing queue: bounded, with a `resync` event after anything was dropped. */
export interface SseSink {
  /** Queues one event's text, or drops it when the client is over the cap. */
  send(text: string): void;
  /** Stops timers (the connection closed). */
  close(): void;
}

/** What a sink needs from the response: its queue length, writes, drain and destroy. */
export interface SseTarget {
  readonly writableLength: number;
  readonly destroyed: boolean;
  write(text: string): boolean;
  once(event: 'drain', cb: () => void): unknown;
  destroy(): void;
}

/**
 * Wraps a response so a client that never reads costs at most `maxBytes` of bentod's memory. Once the
 * queue is full, further events are dropped; when it drains, the client gets `event: resync` and
 * must re-read GET /api/vms. A client that stays full for `stuckMs` is disconnected.
 */
export function boundedSink(res: SseTarget, maxBytes = SSE_MAX_QUEUED_BYTES, stuckMs = SSE_STUCK_MS): SseSink {
  let dropping = false;
  let stuck: NodeJS.Timeout | null = null;
  const onDrain = (): void => {
    if (res.destroyed) return;
    if (res.writableLength > maxBytes / 2) {
      res.once('drain', onDrain);
      return;
    }
    dropping = false;
    if (stuck) clearTimeout(stuck);
    stuck = null;
    res.write('event: resync\ndata: {}\n\n');
  };
  return {
    send(text) {
      if (res.destroyed || dropping) return;
      if (res.writableLength + Buffer.byteLength(text) > maxBytes) {
        dropping = true;
        res.once('drain', onDrain);
        stuck = setTimeout(() => res.destroy(), stuckMs);
        return;
      }
      res.write(text);
    },
    close() {
      if (stuck) clearTimeout(stuck);
      stuck = null;
    },
  };
}

/** Where image pull progress comes from (the daemon's ImageCache). */
export interface ImageProgressSource {
  onProgress(listener: (p: PullProgress) => void): Disposer;
}

/** Where the events come from: every host's VMs (the HostRegistry) and, when it has hosts, their changes. */
export interface EventFeed {
  list(): Vm[];
  onState(listener: (ev: StateEvent) => void): Disposer;
  onChange(listener: (ev: VmChange) => void): Disposer;
  onHost?(listener: (ev: HostEvent) => void): Disposer;
}

/**
 * Serves /api/events as server-sent events: each state change as one `data:` line of JSON, pushed
 * as it happens, and `created` / `changed` / `deleted` named events for definitions. With `snapshot`, the stream opens with an `event: snapshot` carrying every VM, so a
 * client never misses a change between listing and subscribing. Image pulls report progress as
 * `event: image` (about four a second per pull). Each client's queue is bounded
 * (see boundedSink): a slow one gets `event: resync` instead of unbounded memory in bentod. With
 * `stats`, the stream also carries `event: stats` once a second while it is open (StatsEvent).
 * Hosts changing state (connected, unreachable, reconnecting), added or removed are `event: host`
 * (HostEvent); VMs of libvirt hosts come and change through the same events as local ones.
 */
export function openEventStream(
  req: IncomingMessage,
  res: ServerResponse,
  manager: EventFeed,
  snapshot: boolean,
  images?: ImageProgressSource,
  stats?: Pick<StatsSampler, 'subscribe'>,
): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.write(': bentod events\n\n');
  if (snapshot) res.write(`event: snapshot\ndata: ${JSON.stringify(manager.list())}\n\n`);
  const sink = boundedSink(res);
  const off = manager.onState((ev) => sink.send(`data: ${JSON.stringify(ev)}\n\n`));
  // Definitions coming and going are named events, so readers of plain state events can ignore them.
  const offChange = manager.onChange((ev) => sink.send(`event: ${ev.kind}\ndata: ${JSON.stringify(ev)}\n\n`));
  const offImage = images?.onProgress((p) => sink.send(`event: image\ndata: ${JSON.stringify(p)}\n\n`));
  const offHost = manager.onHost?.((ev) => sink.send(`event: host\ndata: ${JSON.stringify(ev)}\n\n`));
  const offStats = stats?.subscribe(statsForClient((ev) => sink.send(`event: stats\ndata: ${JSON.stringify(ev)}\n\n`)));
  const beat = setInterval(() => sink.send(': ping\n\n'), HEARTBEAT_MS);
  const end = (): void => {
    offStats?.();
    clearInterval(beat);
    sink.close();
    off();
    offChange();
    offImage?.();
    offHost?.();
  };
  req.on('close', end);
  res.on('close', end);
}

/**
 * Adapts the sampler's ticks to one client's `event: stats`: each VM's notes (why figures are null)
 * go to a client once per VM run, not every second.
 */
export function statsForClient(send: (ev: StatsEvent) => void): (tick: { at: string; vms: StatsEvent['vms']; notes: Record<string, VmStatsNotes> }) => void {
  const told = new Map<string, string>();
  return (tick) => {
    const ev: StatsEvent = { at: tick.at, vms: tick.vms };
    for (const name of told.keys()) if (!(name in tick.vms)) told.delete(name);
    for (const [name, notes] of Object.entries(tick.notes)) {
      const key = JSON.stringify(notes);
      if (told.get(name) === key) continue;
      told.set(name, key);
      (ev.notes ??= {})[name] = notes;
    }
    send(ev);
  };
}
