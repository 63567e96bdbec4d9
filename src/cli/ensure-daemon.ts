import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BentoClient } from '../api/client.js';
import { BentoError } from '../vm/errors.js';
import { FILES } from '../vm/paths.js';

/** How long `bento` waits for a freshly spawned bentod to answer. */
const SPAWN_WAIT_MS = 20_000;

function connects(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** The bentod entry point next to this one (dist/bentod.js in the bundle, src/cli/bentod.ts in dev). */
export function bentodEntry(): string {
  if (process.env.BENTO_BENTOD) return process.env.BENTO_BENTOD;
  const here = fileURLToPath(import.meta.url);
  // In the bundle this code may sit in a shared chunk (dist/chunks/); bentod.js is in dist/.
  const dir = path.basename(path.dirname(here)) === 'chunks' ? path.dirname(path.dirname(here)) : path.dirname(here);
  return path.join(dir, here.endsWith('.ts') ? 'bentod.ts' : 'bentod.js');
}

function tail(file: string, lines = 5): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Returns a client for a running bentod, starting one (detached, logging to bentod.log) when none
 * answers. A bentod that dies while starting is reported with the end of its log.
 */
export async function ensureDaemon(home: string, socket: string): Promise<BentoClient> {
  const pidFile = path.join(home, FILES.daemonPid);
  if (await connects(socket)) return new BentoClient(socket, { pidFile });
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const logFile = path.join(home, FILES.daemonLog);
  const log = fs.openSync(logFile, 'a', 0o600);
  const child = spawn(process.execPath, [...process.execArgv, bentodEntry(), '--socket', socket], {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, BENTO_HOME: home },
  });
  fs.closeSync(log);
  let exited: number | null = null;
  let exitedAt = 0;
  child.once('exit', (code) => {
    exited = code ?? 1;
    exitedAt = Date.now();
  });
  child.unref();
  const deadline = Date.now() + SPAWN_WAIT_MS;
  let delay = 10;
  while (Date.now() < deadline) {
    if (await connects(socket)) return new BentoClient(socket, { pidFile });
    // Exit 0 or a "daemon-running" exit means another bentod won the race: keep waiting for it.
    if (exited !== null && exited !== 0 && exited !== 3) {
      throw new BentoError('daemon-unavailable', `bentod failed to start (exit ${exited}); see ${logFile}:\n${tail(logFile)}`);
    }
    // A bentod holds the home but does not answer on this socket (it was removed, or it hangs):
    // starting another would mean two engines for the same VMs, so say so instead.
    if (exited === 3 && Date.now() > exitedAt + 2_000) {
      throw new BentoError('daemon-unavailable', tail(logFile, 1).replace(/^bentod: /, '') || `another bentod holds ${home} but does not answer on ${socket}`);
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 100);
  }
  throw new BentoError('daemon-unavailable', `bentod did not answer on ${socket} within ${SPAWN_WAIT_MS / 1000} s; see ${logFile}`);
}
