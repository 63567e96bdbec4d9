import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { tryLockExclusive, type HeldLock } from '../native/lock.js';
import { BentoError, errorMessage } from '../vm/errors.js';
import { FILES } from '../vm/paths.js';
import { listenPrivate } from '../vm/private-socket.js';
import { ImageCache } from '../vm/images/cache.js';
import type { VmManager } from '../vm/manager.js';
import { localOnlyRegistry, type HostRegistry } from '../vm/hosts.js';
import type { VersionInfo } from '../vm/types.js';
import { ConsoleHub } from './console-hub.js';
import { buildRoutes, dispatch } from './routes.js';

/** What bentod needs to serve. */
export interface DaemonOptions {
  home: string;
  socket: string;
  manager: VmManager;
  /** Every host's engine over `manager` (the composition root adds the libvirt hosts); absent: the local engine alone. */
  hosts?: HostRegistry<VmManager>;
  /** The image cache bentod serves (built by the composition root so the manager can share it); absent: one for `home`. */
  images?: ImageCache;
  version: VersionInfo;
  log: (line: string) => void;
  /** Takes the home's lifetime lock (tests may swap it); null when another bentod holds it. */
  lockHome?: (file: string) => HeldLock | null;
  /** Decides whether a connected client may talk to bentod (peer uid check). */
  admit?: (socket: net.Socket) => { ok: true } | { ok: false; reason: string };
}

/** A running bentod. */
export interface Daemon {
  server: http.Server;
  images: ImageCache;
  close(): Promise<void>;
}

/** True when something answers on the socket. */
export function socketAnswers(sock: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    const t = setTimeout(() => finish(false), timeoutMs);
    function finish(ok: boolean): void {
      clearTimeout(t);
      c.destroy();
      resolve(ok);
    }
    c.once('connect', () => finish(true));
    c.once('error', () => finish(false));
  });
}


/**
 * Starts bentod: takes the home's lifetime lock (refusing when another bentod holds it, whether or
 * not its socket still exists), replaces a stale socket, re-adopts running VMs, then serves.
 */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  fs.mkdirSync(opts.home, { recursive: true, mode: 0o700 });
  fs.chmodSync(opts.home, 0o700);
  const sockDir = path.dirname(opts.socket);
  fs.mkdirSync(sockDir, { recursive: true, mode: 0o700 });
  // An flock held for bentod's whole life: the kernel drops it however bentod dies, and while it is
  // held no second bentod can serve this home, even when the socket file was removed.
  const lock = (opts.lockHome ?? tryLockExclusive)(path.join(opts.home, FILES.daemonLock));
  if (!lock) {
    const pid = readPid(path.join(opts.home, FILES.daemonPid));
    const answers = fs.existsSync(opts.socket) && (await socketAnswers(opts.socket));
    throw new BentoError(
      'daemon-running',
      answers
        ? `bentod is already running${pid ? ` (pid ${pid})` : ''} on ${opts.socket}`
        : `bentod is already running${pid ? ` (pid ${pid})` : ''} in ${opts.home} but its socket ${opts.socket} does not answer; stop it (kill ${pid ?? 'its pid'}) and run bento again`,
    );
  }
  try {
    if (fs.existsSync(opts.socket)) {
      // We hold the home's lock, so whatever answers there is not a bentod of this home.
      opts.log(`removing stale socket ${opts.socket}`);
      fs.rmSync(opts.socket, { force: true });
    }
    await opts.manager.init();
    const hosts = opts.hosts ?? localOnlyRegistry(opts.manager, opts.log);
    // libvirt hosts connect in the background: bentod serves at once, whatever state they are in.
    hosts.init();
    const images = opts.images ?? new ImageCache({ home: opts.home, log: opts.log });
    const routes = buildRoutes(hosts, opts.version, images);
    const server = http.createServer((req, res) => void dispatch(routes, req, res));
    const consoles = new ConsoleHub(hosts, opts.log);
    consoles.start();
    server.on('upgrade', (req, socket, head) => {
      // An upgraded socket has no error listener of http's any more: a client gone before the reply
      // (EPIPE, ECONNRESET) must not become an uncaught exception, which now ends bentod.
      socket.on('error', (err) => opts.log(`console client: ${errorMessage(err)}`));
      if (!consoles.handleUpgrade(req, socket, head as Buffer)) socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
    });
    server.keepAliveTimeout = 5_000;
    if (opts.admit) {
      const admit = opts.admit;
      server.on('connection', (socket: net.Socket) => {
        const verdict = admit(socket);
        if (!verdict.ok) {
          opts.log(`refused a client: ${verdict.reason}`);
          socket.destroy();
        }
      });
    }
    await listenPrivate(server, opts.socket);
    fs.writeFileSync(path.join(opts.home, FILES.daemonPid), `${process.pid}\n`, { mode: 0o600 });
    opts.log(`bentod ${opts.version.version} (pid ${process.pid}) serving on ${opts.socket}`);
    return {
      server,
      images,
      async close() {
        consoles.close();
        // Each host's connection closes within a bound: a hung libvirtd does not hold bentod's exit.
        await hosts.close();
        opts.manager.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        fs.rmSync(opts.socket, { force: true });
        const pidFile = path.join(opts.home, FILES.daemonPid);
        if (readPid(pidFile) === process.pid) fs.rmSync(pidFile, { force: true });
        lock.release();
      },
    };
  } catch (err) {
    await opts.hosts?.close().catch(() => undefined);
    lock.release();
    throw err;
  }
}

function readPid(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}
