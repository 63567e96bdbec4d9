import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { BentoError, HTTP_STATUS, toBentoError } from '../vm/errors.js';
import type { VmManager } from '../vm/manager.js';
import type { Disposer } from '../vm/types.js';
import { ConsoleSession } from './console-session.js';

const CONSOLE_PATH = /^\/api\/vms\/([^/]+)\/console$/;
/** Scrollback a viewer gets on attach unless it asks for another amount. */
const DEFAULT_SCROLLBACK = 16 * 1024;
const MAX_SCROLLBACK = 4 * 1024 * 1024;

/**
 * Owns every running VM's console session and serves GET /api/vms/:name/console as a WebSocket on
 * the daemon's socket. Sessions open when a VM runs (or is re-adopted) and close when it stops, with
 * the reason sent to every viewer.
 */
export class ConsoleHub {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  private off: Disposer | null = null;

  constructor(
    private readonly manager: VmManager,
    private readonly log: (line: string) => void,
  ) {}

  /** Opens sessions for VMs already running and follows state changes. */
  start(): void {
    for (const vm of this.manager.list()) if (vm.pid !== null) this.open(vm.name);
    this.off = this.manager.onState((ev) => {
      if (ev.state === 'stopped') this.sessions.get(ev.name)?.close(`${ev.name} stopped${ev.reason ? ` (${ev.reason})` : ''}`);
      if (ev.state === 'stopped') this.sessions.delete(ev.name);
      else if (ev.state === 'running' || ev.state === 'paused') this.open(ev.name);
    });
  }

  private open(name: string): ConsoleSession | null {
    const existing = this.sessions.get(name);
    if (existing) return existing;
    const endpoint = this.manager.consoleEndpoint(name);
    if (!endpoint) return null;
    const s = new ConsoleSession(name, endpoint, this.log);
    this.sessions.set(name, s);
    return s;
  }

  /** Handles an HTTP upgrade; returns false when the path is not a console path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://bentod');
    const m = CONSOLE_PATH.exec(url.pathname);
    if (!m) return false;
    try {
      const name = decodeURIComponent(m[1] ?? '');
      const vm = this.manager.get(name);
      const session = vm.pid !== null ? this.open(name) : null;
      if (!session) throw new BentoError('not-running', `${name} is not running`);
      const scrollback = Number(url.searchParams.get('scrollback') ?? DEFAULT_SCROLLBACK);
      if (!Number.isSafeInteger(scrollback) || scrollback < 0 || scrollback > MAX_SCROLLBACK) {
        throw new BentoError('invalid-input', `scrollback must be a whole number of bytes from 0 to ${MAX_SCROLLBACK}`);
      }
      const opts = {
        force: url.searchParams.get('force') === '1',
        readOnly: url.searchParams.get('readonly') === '1',
        fromBoot: url.searchParams.get('from') === 'boot',
        scrollback,
      };
      this.wss.handleUpgrade(req, socket, head, (ws) => session.attach(ws, opts));
    } catch (err) {
      const e = toBentoError(err);
      const body = JSON.stringify(e.toJSON());
      socket.end(
        `HTTP/1.1 ${HTTP_STATUS[e.code]} ${e.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
    return true;
  }

  /** Closes every session (bentod is exiting: viewers are told, VMs keep running). */
  close(): void {
    this.off?.();
    for (const s of this.sessions.values()) s.close('bentod is shutting down');
    this.sessions.clear();
    this.wss.close();
  }
}
