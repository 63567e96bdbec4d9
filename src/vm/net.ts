import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import type { PortForward } from './types.js';

/** The rule a `--publish` value must follow, for error messages. */
export const PUBLISH_RULE = '[HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp] with ports from 1 to 65535 and an IPv4 host address';

const PUBLISH_RE = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5}):(\d{1,5})(?:\/(tcp|udp))?$/;

/** The host address a forward listens on when none is given: loopback, never every interface. */
export const DEFAULT_PUBLISH_IP = '127.0.0.1';

/** Parses one `--publish` value; null when it does not follow PUBLISH_RULE. */
export function parsePublish(value: string): PortForward | null {
  const m = PUBLISH_RE.exec(value.trim());
  if (!m) return null;
  const hostIp = m[1] ?? DEFAULT_PUBLISH_IP;
  if (!net.isIPv4(hostIp)) return null;
  const hostPort = Number(m[2]);
  const guestPort = Number(m[3]);
  if (!validPort(hostPort) || !validPort(guestPort)) return null;
  return { hostIp, hostPort, guestPort, protocol: (m[4] as 'tcp' | 'udp' | undefined) ?? 'tcp' };
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= 65535;
}

/** `127.0.0.1:8080:80/tcp`, the form `parsePublish` reads back. */
export function formatPublish(f: PortForward): string {
  return `${f.hostIp}:${f.hostPort}:${f.guestPort}/${f.protocol}`;
}

/**
 * The forwards in a list that claim the same host address, port and protocol as an earlier one;
 * 0.0.0.0 claims the port on every address, whichever of the two comes first.
 */
export function duplicateForwards(list: PortForward[]): PortForward[] {
  const dups: PortForward[] = [];
  list.forEach((f, i) => {
    const clash = list
      .slice(0, i)
      .some((e) => e.protocol === f.protocol && e.hostPort === f.hostPort && (e.hostIp === f.hostIp || e.hostIp === '0.0.0.0' || f.hostIp === '0.0.0.0'));
    if (clash) dups.push(f);
  });
  return dups;
}

/** The lowest port an unprivileged process may bind here (Linux sysctl; 1024 elsewhere). */
export function unprivilegedPortStart(): number {
  try {
    const v = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
    if (Number.isInteger(v) && v >= 0) return v;
  } catch {
    // not Linux
  }
  return 1024;
}

/**
 * Why a host port cannot be forwarded right now, or null when it can: tries to bind it the way
 * QEMU's user network will, then lets go at once.
 */
export async function portProblem(f: Pick<PortForward, 'hostIp' | 'hostPort' | 'protocol'>): Promise<string | null> {
  const where = `${f.hostIp}:${f.hostPort}/${f.protocol}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot && f.hostPort < unprivilegedPortStart()) {
    return `host port ${where} is a privileged port (below ${unprivilegedPortStart()}) and bentod does not run as root; choose a port of ${unprivilegedPortStart()} or more`;
  }
  const err = await (f.protocol === 'udp' ? bindUdp(f.hostIp, f.hostPort) : bindTcp(f.hostIp, f.hostPort));
  if (!err) return null;
  if (err.code === 'EADDRINUSE') return `host port ${where} is in use by another program`;
  if (err.code === 'EACCES') return `host port ${where} is a privileged port and bentod may not bind it; choose a port of ${unprivilegedPortStart()} or more`;
  if (err.code === 'EADDRNOTAVAIL') return `host address ${f.hostIp} (in ${where}) is not an address of this host`;
  return `host port ${where} cannot be bound: ${err.message}`;
}

function bindTcp(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', (e: NodeJS.ErrnoException) => resolve(e));
    // exclusive: a port another process listens on with SO_REUSEPORT still counts as taken.
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(null)));
  });
}

function bindUdp(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', (e: NodeJS.ErrnoException) => {
      sock.close();
      resolve(e);
    });
    sock.bind({ address: host, port, exclusive: true }, () => sock.close(() => resolve(null)));
  });
}

/**
 * A TCP port on 127.0.0.1 that is free right now (the kernel picks it). QEMU binds it a moment
 * later; if something takes it in between, the start fails with QEMU's error naming the port.
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('the kernel gave no port'))));
    });
  });
}

/**
 * Reads an SSH server's identification line (`SSH-2.0-…`) from host:port within timeoutMs.
 * QEMU's user network accepts a forwarded connection even when nothing listens in the guest (and
 * then closes it), so a successful connect alone proves nothing: only the banner does.
 */
export function sshBanner(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let buf = '';
    let settled = false;
    const sock = net.connect({ host, port });
    const done = (v: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      buf += d;
      // Only whole lines: a banner split across reads must not be taken before its line end.
      const line = buf.split(/\r?\n/).slice(0, -1).find((l) => l.startsWith('SSH-'));
      if (line) done(line.trim());
      else if (buf.length > 4096) done(null);
    });
    sock.on('error', () => done(null));
    sock.on('close', () => done(null));
  });
}
