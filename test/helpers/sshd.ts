/**
 * A private OpenSSH server for tests of qemu+ssh:// hosts, and a private ~ for the ssh client, so
 * neither the system's sshd nor the real ~/.ssh is ever used.
 *
 * startSshd runs `/usr/sbin/sshd -D -e -f CONFIG` inside a network namespace the test made
 * (createNetns), listening on that namespace's 127.0.0.1 only, with a temp config, its own ed25519
 * host key, public-key login only (PermitRootLogin prohibit-password), AuthorizedKeysFile a temp file
 * holding a fresh client key, StrictModes no, UsePAM no, and its pid file in the temp folder. sshd
 * needs its privilege separation folder /run/sshd, which only exists where the system sshd runs: it
 * runs in a private mount namespace (`unshare -m`) with a tmpfs over /run, so nothing is made on the
 * system. The sessions' commands (libvirt's `nc -U SOCKET`) reach a private libvirtd of the socket
 * kind through its socket under /tmp.
 *
 * OpenSSH's client reads ~/.ssh (known_hosts, config, default keys) from the passwd entry, not $HOME,
 * and libvirt's ssh transport passes it only `-p`, `-l`, `-i KEYFILE` (the `keyfile` URI parameter),
 * `-T -e none` (and `-o BatchMode=yes` with `no_tty=1`); the `known_hosts` URI parameter is for the
 * libssh/libssh2 transports only. privateHome() therefore makes a mount namespace, held by a `sleep`,
 * where the passwd home folder is a temp folder whose .ssh/known_hosts holds the test sshd's host key:
 * bento processes run there (`exec` prefix) verify the host key as a real client does, and never read
 * or write the real ~.
 *
 * Clean-up: stop() kills every process of the sshd's mount namespace (the listener, its connections'
 * processes, their nc) or of the home's, and removes the temp folder; a process exit does the same.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Netns } from './libvirtd.js';

export interface Sshd {
  /** The temp folder (config, host key, client key, authorized_keys, pid file, log). */
  readonly dir: string;
  readonly port: number;
  /** A private key (no passphrase) sshd accepts for root: give it as the URI's `keyfile`. */
  readonly clientKey: string;
  /** The known_hosts line for this sshd (`127.0.0.1 ssh-ed25519 …`, `[127.0.0.1]:PORT …` off port 22). */
  readonly knownHostsLine: string;
  /** The listener's pid (0 when not running). */
  readonly pid: number;
  /** SIGKILLs every sshd process (the listener and every connection's processes, with their commands). */
  killAll(): void;
  /** Starts sshd again (same port, keys and config); waits until it listens. */
  start(): Promise<void>;
  /** Kills everything and removes the temp folder. Idempotent. */
  stop(): void;
  /** sshd's own log (-e: to stderr, kept in the folder). */
  log(): string;
}

export interface PrivateHome {
  /** The temp folder mounted over the passwd home folder inside the namespace. */
  readonly dir: string;
  /** Command prefix: runs a program in the home's mount namespace (and the network namespace given). */
  readonly exec: string[];
  stop(): void;
}

const live = new Set<{ stop(): void }>();
let exitHook = false;
function track(x: { stop(): void }): void {
  live.add(x);
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const i of [...live]) i.stop();
  });
}

function nsOf(pid: number): string | null {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    return null;
  }
}

function killMntNs(mntNs: string): void {
  if (!mntNs || mntNs === nsOf(process.pid)) return;
  const deadline = Date.now() + 5000;
  for (;;) {
    const pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => nsOf(p) === mntNs && !isZombie(p));
    if (pids.length === 0 || Date.now() > deadline) return;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
  } catch {
    return true;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Spawns `argv` detached; resolves with the child once its output contains `ready`. */
async function spawnUntil(argv: string[], ready: string, what: string, logFile?: string): Promise<number> {
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (b: Buffer): void => {
    out += b.toString();
    if (logFile) fs.appendFileSync(logFile, b);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const ok = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 10_000);
    const check = (): void => {
      if (out.includes(ready)) {
        clearTimeout(t);
        resolve(true);
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.on('exit', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
  if (!ok || !child.pid) {
    try {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone
    }
    throw new Error(`${what} did not come up: ${out.trim()}`);
  }
  // sshd keeps logging to stderr (-e): keep reading into the log file, never into a full pipe.
  if (!logFile) {
    child.stdout.destroy();
    child.stderr.destroy();
  }
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  return child.pid;
}

/** Starts a private sshd in `netns` on 127.0.0.1:port (default 22: the namespace has nothing else). */
export async function startSshd(opts: { netns: Netns; port?: number }): Promise<Sshd> {
  if (!fs.existsSync('/usr/sbin/sshd')) throw new Error('/usr/sbin/sshd is missing: run scripts/setup.sh (package openssh-server)');
  const port = opts.port ?? 22;
  const dir = fs.mkdtempSync('/tmp/bssh-');
  const keygen = (file: string, comment: string): void => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  keygen(path.join(dir, 'host_ed25519'), 'bento-test-sshd');
  keygen(path.join(dir, 'client_ed25519'), 'bento-test-client');
  fs.copyFileSync(path.join(dir, 'client_ed25519.pub'), path.join(dir, 'authorized_keys'));
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_ed25519`,
      `PidFile ${dir}/sshd.pid`,
      'PermitRootLogin prohibit-password',
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'StrictModes no',
      'UsePAM no',
      'PrintMotd no',
      'PrintLastLog no',
      '',
    ].join('\n'),
  );
  const hostKey = fs.readFileSync(path.join(dir, 'host_ed25519.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  const logFile = path.join(dir, 'sshd.log');
  let mntNs = '';
  let pid = 0;
  let stopped = false;
  const script = `mount -t tmpfs -o mode=755 tmpfs /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -e -f ${config}`;
  const sshd: Sshd = {
    dir,
    port,
    clientKey: path.join(dir, 'client_ed25519'),
    knownHostsLine: `${port === 22 ? '127.0.0.1' : `[127.0.0.1]:${port}`} ${hostKey}`,
    get pid() {
      return pid;
    },
    killAll() {
      killMntNs(mntNs);
      pid = 0;
    },
    async start() {
      if (stopped) throw new Error('this sshd was stopped');
      if (pid) throw new Error(`sshd is running (pid ${pid})`);
      pid = await spawnUntil([...opts.netns.exec, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script], `Server listening on 127.0.0.1 port ${port}`, `sshd on ${opts.netns.name} 127.0.0.1:${port}`, logFile);
      mntNs = nsOf(pid) ?? '';
      if (!mntNs || mntNs === nsOf(process.pid)) throw new Error('sshd is not in a private mount namespace');
    },
    stop() {
      if (stopped) return;
      stopped = true;
      live.delete(sshd);
      killMntNs(mntNs);
      fs.rmSync(dir, { recursive: true, force: true });
    },
    log() {
      try {
        return fs.readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
  track(sshd);
  try {
    await sshd.start();
  } catch (err) {
    sshd.stop();
    throw err;
  }
  return sshd;
}

/**
 * A mount namespace (inside `netns`) where the passwd home folder is a fresh temp folder with
 * .ssh/known_hosts holding `knownHosts` lines: what ssh, run by libvirt in a bento process there, reads.
 */
export async function privateHome(opts: { netns: Netns; knownHosts: string[] }): Promise<PrivateHome> {
  const home = os.userInfo().homedir;
  const dir = fs.mkdtempSync('/tmp/bhome-');
  fs.mkdirSync(path.join(dir, '.ssh'), { mode: 0o700 });
  fs.writeFileSync(path.join(dir, '.ssh', 'known_hosts'), opts.knownHosts.map((l) => `${l}\n`).join(''), { mode: 0o600 });
  const script = `mount --bind ${dir} ${home} && echo ready && exec sleep infinity </dev/null >/dev/null 2>&1`;
  const holder = await spawnUntil([...opts.netns.exec, 'unshare', '-m', '--propagation', 'private', 'sh', '-c', script], 'ready', `the private home over ${home}`);
  const mntNs = nsOf(holder) ?? '';
  let stopped = false;
  const h: PrivateHome = {
    dir,
    exec: ['nsenter', '-t', String(holder), '-m', '-n', '--'],
    stop() {
      if (stopped) return;
      stopped = true;
      live.delete(h);
      killMntNs(mntNs);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  track(h);
  if (!mntNs || mntNs === nsOf(process.pid)) {
    h.stop();
    throw new Error('the private home is not in a private mount namespace');
  }
  // The bind shows at once; wait for the holder's view only to be safe on a loaded machine.
  for (let i = 0; i < 50 && !fs.existsSync(`/proc/${holder}/root${home}/.ssh/known_hosts`); i++) await sleep(20);
  return h;
}
