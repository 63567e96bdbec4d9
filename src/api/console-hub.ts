import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { BentoError, HTTP_STATUS, errorMessage, toBentoError } from '../vm/errors.js';
import type { ConsoleEndpoint } from '../vm/drivers/driver.js';
import type { ConsoleRelay } from '../vm/drivers/libvirt/console-relay.js';
import type { Disposer, StateEvent, Vm, VmChange } from '../vm/types.js';
import { ConsoleSession } from './console-session.js';

const CONSOLE_PATH = /^\/api\/vms\/([^/]+)\/console$/;
/** Scrollback a viewer gets on attach unless it asks for another amount. */
const DEFAULT_SCROLLBACK = 16 * 1024;
const MAX_SCROLLBACK = 4 * 1024 * 1024;

/** What the hub needs of bentod's engines (the HostRegistry). */
export interface ConsoleSource {
  list(): Vm[];
  get(name: string): Vm;
  onState(listener: (ev: StateEvent) => void): Disposer;
  onChange(listener: (ev: VmChange) => void): Disposer;
  /** A running local VM's endpoint (null for VMs of libvirt hosts). */
  consoleEndpoint(name: string): ConsoleEndpoint | null;
  /** Whether a VM name is on a libvirt host (its console opens on demand). */
  isLibvirt(name: string): boolean;
  /** Opens the console relay of a VM on a libvirt host (force: take it from another client). */
  openConsole(name: string, opts: { force: boolean }): Promise<ConsoleRelay>;
  /** Closes it (its last viewer left). */
  closeConsole(name: string): Promise<void>;
}

type AttachOptions = { force: boolean; readOnly: boolean; fromBoot: boolean; scrollback: number };

/**
 * Owns every VM's console session and serves GET /api/vms/:name/console as a WebSocket on the
 * daemon's socket. A local VM's session opens when it runs (or is re-adopted) and closes when it
 * stops, with the reason sent to every viewer. On a libvirt host, a domain bento defined has its
 * console relay (libvirt's console stream into the VM's serial log) opened as soon as it is seen
 * running, and kept while it runs, so `bento logs` has its boot as for a local VM; it is never taken
 * from another client (virsh console --force takes it away; bento opens it again at the next start or
 * when a viewer asks). A foreign domain's console opens only when a viewer asks (with force when that
 * viewer asked for it) and closes when its last viewer leaves: bento does not hold a console it does
 * not own. Either way the same ConsoleSession serves the viewers.
 */
export class ConsoleHub {
  private readonly sessions = new Map<string, ConsoleSession>();
  /** Relay sessions being opened, so two first viewers share one. */
  private readonly opening = new Map<string, Promise<ConsoleSession>>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  private readonly offs: Disposer[] = [];
  /** bento's own libvirt VMs whose console another client holds: not retried until they stop or a viewer asks. */
  private readonly heldElsewhere = new Set<string>();

  constructor(
    private readonly source: ConsoleSource,
    private readonly log: (line: string) => void,
  ) {}

  /** Opens sessions for local VMs already running and follows state changes. */
  start(): void {
    for (const vm of this.source.list()) {
      if (vm.libvirt) this.keepOpen(vm);
      else if (vm.pid !== null) this.open(vm.name);
    }
    this.offs.push(
      this.source.onState((ev) => {
        if (ev.state === 'stopped') {
          this.heldElsewhere.delete(ev.name);
          this.sessions.get(ev.name)?.close(`${ev.name} stopped${ev.reason ? ` (${ev.reason})` : ''}`);
          this.sessions.delete(ev.name);
          if (this.source.isLibvirt(ev.name)) void this.source.closeConsole(ev.name);
        } else if (ev.state === 'running' || ev.state === 'paused') {
          if (!this.source.isLibvirt(ev.name)) this.open(ev.name);
          else this.keepOpen(ev.vm ?? this.find(ev.name));
        }
      }),
      // A libvirt host that (re)connects lists its domains as created or changed VMs.
      this.source.onChange((ev) => {
        if (ev.kind !== 'deleted') this.keepOpen(ev.vm);
        else this.heldElsewhere.delete(ev.name);
      }),
    );
  }

  private find(name: string): Vm | undefined {
    try {
      return this.source.get(name);
    } catch {
      return undefined;
    }
  }

  /** Opens and keeps the console of a running domain bento defined on a libvirt host (never by force). */
  private keepOpen(vm: Vm | undefined): void {
    if (!vm?.libvirt || vm.libvirt.foreign || !vm.reachable) return;
    if (vm.state !== 'running' && vm.state !== 'paused') return;
    if (this.sessions.has(vm.name) || this.opening.has(vm.name) || this.heldElsewhere.has(vm.name)) return;
    const name = vm.name;
    this.relaySession(name, false, true).catch((err: unknown) => {
      if (toBentoError(err).code === 'busy') this.heldElsewhere.add(name);
      this.log(`${name}: its console stays closed: ${errorMessage(err)}`);
    });
  }

  private open(name: string): ConsoleSession | null {
    const existing = this.sessions.get(name);
    if (existing) return existing;
    const endpoint = this.source.consoleEndpoint(name);
    if (!endpoint) return null;
    const s = new ConsoleSession(name, endpoint, this.log);
    this.sessions.set(name, s);
    return s;
  }

  /** The session of a libvirt VM's console, opening its relay for the first viewer. */
  private relaySession(name: string, force: boolean, keep = false): Promise<ConsoleSession> {
    const existing = this.sessions.get(name);
    if (existing) return Promise.resolve(existing);
    const pending = this.opening.get(name);
    if (pending) return pending;
    const p = (async () => {
      const relay = await this.source.openConsole(name, { force });
      this.heldElsewhere.delete(name);
      // A kept console outlives its viewers; one opened for a viewer closes with the last of them.
      const onIdle = keep ? undefined : (): void => this.endRelay(name, session, 'the last viewer left');
      const session: ConsoleSession = new ConsoleSession(name, relay.endpoint, this.log, onIdle ? { onIdle } : {});
      this.sessions.set(name, session);
      relay.onEnd((why) => this.endRelay(name, session, `${name}: ${why}`));
      return session;
    })();
    this.opening.set(name, p);
    const forget = (): void => void (this.opening.get(name) === p && this.opening.delete(name));
    p.then(forget, forget);
    return p;
  }

  private endRelay(name: string, session: ConsoleSession, reason: string): void {
    if (this.sessions.get(name) !== session) return;
    this.sessions.delete(name);
    session.close(reason);
    this.source.closeConsole(name).catch((err: unknown) => this.log(`${name}: closing its console: ${errorMessage(err)}`));
  }

  /** Handles an HTTP upgrade; returns false when the path is not a console path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://bentod');
    const m = CONSOLE_PATH.exec(url.pathname);
    if (!m) return false;
    try {
      const vm = this.source.get(decodeURIComponent(m[1] ?? ''));
      const scrollback = Number(url.searchParams.get('scrollback') ?? DEFAULT_SCROLLBACK);
      if (!Number.isSafeInteger(scrollback) || scrollback < 0 || scrollback > MAX_SCROLLBACK) {
        throw new BentoError('invalid-input', `scrollback must be a whole number of bytes from 0 to ${MAX_SCROLLBACK}`);
      }
      const opts: AttachOptions = {
        force: url.searchParams.get('force') === '1',
        readOnly: url.searchParams.get('readonly') === '1',
        fromBoot: url.searchParams.get('from') === 'boot',
        scrollback,
      };
      if (vm.libvirt) {
        void this.upgradeRelay(vm.name, req, socket, head, opts);
        return true;
      }
      const session = vm.pid !== null ? this.open(vm.name) : null;
      if (!session) throw new BentoError('not-running', `${vm.name} is not running`);
      this.wss.handleUpgrade(req, socket, head, (ws) => session.attach(ws, opts));
    } catch (err) {
      refuse(socket, err);
    }
    return true;
  }

  private async upgradeRelay(name: string, req: IncomingMessage, socket: Duplex, head: Buffer, opts: AttachOptions): Promise<void> {
    let session: ConsoleSession;
    try {
      session = await this.relaySession(name, opts.force, this.keeps(name));
    } catch (err) {
      refuse(socket, err);
      return;
    }
    if (socket.destroyed) {
      // The viewer left while the console opened: a session nobody views closes.
      if (session.viewerCount === 0 && !this.keeps(name)) this.endRelay(name, session, 'its viewer left');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => session.attach(ws, opts));
  }

  /** Whether a VM's console is one bento keeps open while it runs (a domain it defined). */
  private keeps(name: string): boolean {
    const vm = this.find(name);
    return !!vm?.libvirt && !vm.libvirt.foreign;
  }

  /** Closes every session (bentod is exiting: viewers are told, VMs keep running). */
  close(): void {
    for (const off of this.offs.splice(0)) off();
    for (const s of this.sessions.values()) s.close('bentod is shutting down');
    this.sessions.clear();
    this.wss.close();
  }
}

/** Answers an upgrade with the error as JSON and closes the connection. */
function refuse(socket: Duplex, err: unknown): void {
  const e = toBentoError(err);
  const body = JSON.stringify(e.toJSON());
  socket.end(`HTTP/1.1 ${HTTP_STATUS[e.code]} ${e.code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
