import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { BentoError, errorMessage } from '../vm/errors.js';
import { FILES } from '../vm/paths.js';
import type { VmManager } from '../vm/manager.js';
import type { VersionInfo } from '../vm/types.js';
import { ConsoleHub } from './console-hub.js';
import { buildRoutes, dispatch } from './routes.js';

/** What bentod needs to serve. */
export interface DaemonOptions {
  home: string;
  socket: string;
  manager: VmManager;
  version: VersionInfo;
  log: (line: string) => void;
  /** Decides whether a connected client may talk to bentod (peer uid check). */
  admit?: (socket: net.Socket) => { ok: true } | { ok: false; reason: string };
}

/** A running bentod. */
export interface Daemon {
  server: http.Server;
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

function listen(server: http.Server, sock: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // The socket is created 0600 from the first instant; chmod afterwards would leave a window.
    const old = process.umask(0o177);
    server.once('error', reject);
    server.listen(sock, () => {
      process.umask(old);
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Starts bentod: takes the home lock, refuses when another bentod answers, replaces a stale socket,
 * re-adopts running VMs, then serves. The lock covers check-and-bind so two racing daemons cannot
 * both bind.
 */
export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  fs.mkdirSync(opts.home, { recursive: true, mode: 0o700 });
  fs.chmodSync(opts.home, 0o700);
  const sockDir = path.dirname(opts.socket);
  fs.mkdirSync(sockDir, { recursive: true, mode: 0o700 });
  const lockTarget = path.join(opts.home, FILES.daemonLock);
  fs.writeFileSync(lockTarget, '', { flag: 'a', mode: 0o600 });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(lockTarget, { stale: 10_000, retries: { retries: 100, minTimeout: 50, maxTimeout: 200 } });
  } catch (err) {
    throw new BentoError('daemon-running', `another bentod is starting in ${opts.home}: ${errorMessage(err)}`);
  }
  try {
    if (fs.existsSync(opts.socket)) {
      if (await socketAnswers(opts.socket)) {
        const pid = readPid(path.join(opts.home, FILES.daemonPid));
        throw new BentoError('daemon-running', `bentod is already running${pid ? ` (pid ${pid})` : ''} on ${opts.socket}`);
      }
      opts.log(`removing stale socket ${opts.socket}`);
      fs.rmSync(opts.socket, { force: true });
    }
    await opts.manager.init();
    const routes = buildRoutes(opts.manager, opts.version);
    const server = http.createServer((req, res) => void dispatch(routes, req, res));
    const consoles = new ConsoleHub(opts.manager, opts.log);
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
    await listen(server, opts.socket);
    fs.writeFileSync(path.join(opts.home, FILES.daemonPid), `${process.pid}\n`, { mode: 0o600 });
    opts.log(`bentod ${opts.version.version} (pid ${process.pid}) serving on ${opts.socket}`);
    return {
      server,
      async close() {
        consoles.close();
        opts.manager.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        fs.rmSync(opts.socket, { force: true });
        const pidFile = path.join(opts.home, FILES.daemonPid);
        if (readPid(pidFile) === process.pid) fs.rmSync(pidFile, { force: true });
      },
    };
  } finally {
    await release();
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
