import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_PUBLISH_IP, duplicateForwards, formatPublish, freeLoopbackPort, parsePublish, portProblem, sshBanner } from './net.js';
import type { PortForward } from './types.js';

/** Everything a test opened, closed in afterEach even when the test failed. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A TCP server on 127.0.0.1 (kernel-chosen port) doing `onConnection` with each client. */
async function server(onConnection: (s: net.Socket) => void): Promise<{ port: number; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const srv = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve) => srv.listen({ host: '127.0.0.1', port: 0 }, resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  );
  return { port: (srv.address() as net.AddressInfo).port, sockets };
}

function fwd(hostIp: string, hostPort: number, guestPort: number, protocol: 'tcp' | 'udp' = 'tcp'): PortForward {
  return { hostIp, hostPort, guestPort, protocol };
}

describe('parsePublish', () => {
  it.each<[string, PortForward]>([
    ['8080:80', fwd('127.0.0.1', 8080, 80)],
    ['8080:80/tcp', fwd('127.0.0.1', 8080, 80)],
    ['5353:53/udp', fwd('127.0.0.1', 5353, 53, 'udp')],
    ['0.0.0.0:8080:80', fwd('0.0.0.0', 8080, 80)],
    ['192.168.1.20:2222:22/tcp', fwd('192.168.1.20', 2222, 22)],
    ['10.0.0.1:1:65535/udp', fwd('10.0.0.1', 1, 65535, 'udp')],
    ['65535:1', fwd('127.0.0.1', 65535, 1)],
    ['  8080:80  ', fwd('127.0.0.1', 8080, 80)],
  ])('reads %j', (value, expected) => {
    expect(parsePublish(value)).toEqual(expected);
  });

  it('listens on loopback over tcp when the value names neither', () => {
    expect(DEFAULT_PUBLISH_IP).toBe('127.0.0.1');
    expect(parsePublish('3000:3000')).toMatchObject({ hostIp: '127.0.0.1', protocol: 'tcp' });
  });

  it.each([
    '',
    '8080',
    ':80',
    '8080:',
    '0:80',
    '80:0',
    '65536:80',
    '80:65536',
    '99999:80',
    '-1:80',
    '8080:80/sctp',
    '8080:80/TCP',
    '8080:80/',
    '256.0.0.1:8080:80',
    '1.2.3:8080:80',
    '1.2.3.4.5:8080:80',
    'localhost:8080:80',
    '[::1]:8080:80',
    '::1:8080:80',
    '1.2.3.4:8080',
    '8080:80:22',
    '8080-8090:80',
    '8080:80 junk',
    'a:b',
    '8080:80/tcp/udp',
    '1e3:80',
    '0x50:80',
  ])('refuses %j', (value) => {
    expect(parsePublish(value)).toBeNull();
  });
});

describe('formatPublish', () => {
  it.each(['8080:80', '5353:53/udp', '0.0.0.0:443:8443/tcp', '10.1.2.3:1:65535/udp'])('round-trips %j through parsePublish', (value) => {
    const f = parsePublish(value)!;
    const text = formatPublish(f);
    expect(text).toMatch(/^\d+\.\d+\.\d+\.\d+:\d+:\d+\/(tcp|udp)$/);
    expect(parsePublish(text)).toEqual(f);
  });

  it('always writes the address and the protocol', () => {
    expect(formatPublish(parsePublish('8080:80')!)).toBe('127.0.0.1:8080:80/tcp');
  });
});

describe('duplicateForwards', () => {
  it('finds nothing in distinct forwards: other port, other protocol, other address', () => {
    expect(
      duplicateForwards([fwd('127.0.0.1', 8080, 80), fwd('127.0.0.1', 8081, 80), fwd('127.0.0.1', 8080, 80, 'udp'), fwd('192.168.1.2', 8080, 80)]),
    ).toEqual([]);
  });

  it('names the later of two forwards of the same address, port and protocol (guest port aside)', () => {
    const later = fwd('127.0.0.1', 8080, 81);
    expect(duplicateForwards([fwd('127.0.0.1', 8080, 80), fwd('127.0.0.1', 9000, 90), later])).toEqual([later]);
  });

  it('a specific address clashes with 0.0.0.0 on the same port, in either order', () => {
    const any = fwd('0.0.0.0', 8080, 80);
    const lo = fwd('127.0.0.1', 8080, 81);
    expect(duplicateForwards([any, lo])).toEqual([lo]);
    expect(duplicateForwards([lo, any])).toEqual([any]);
    // Only for the same protocol.
    expect(duplicateForwards([fwd('127.0.0.1', 8080, 80, 'udp'), any])).toEqual([]);
  });

  it('reports every repeat, not just the first', () => {
    const list = [fwd('127.0.0.1', 1, 1), fwd('127.0.0.1', 1, 2), fwd('127.0.0.1', 1, 3)];
    expect(duplicateForwards(list)).toEqual([list[1], list[2]]);
  });
});

describe('portProblem', () => {
  it('names a TCP port a real listener holds as in use', async () => {
    const { port } = await server(() => {});
    const why = await portProblem({ hostIp: '127.0.0.1', hostPort: port, protocol: 'tcp' });
    expect(why).toBe(`host port 127.0.0.1:${port}/tcp is in use by another program`);
  });

  it('a listener on 0.0.0.0 holds the port for 127.0.0.1 too', async () => {
    const srv = net.createServer();
    await new Promise<void>((resolve) => srv.listen({ host: '0.0.0.0', port: 0 }, resolve));
    cleanups.push(() => new Promise<void>((resolve) => srv.close(() => resolve())));
    const port = (srv.address() as net.AddressInfo).port;
    expect(await portProblem({ hostIp: '127.0.0.1', hostPort: port, protocol: 'tcp' })).toMatch(/is in use by another program/);
  });

  it('is null for a free port, and leaves it free', async () => {
    const port = await freeLoopbackPort();
    expect(await portProblem({ hostIp: '127.0.0.1', hostPort: port, protocol: 'tcp' })).toBeNull();
    // The probe let go of it: binding it now works.
    expect(await portProblem({ hostIp: '127.0.0.1', hostPort: port, protocol: 'tcp' })).toBeNull();
  });

  it('checks UDP ports with a UDP socket', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind({ address: '127.0.0.1', port: 0 }, resolve));
    cleanups.push(() => new Promise<void>((resolve) => sock.close(() => resolve())));
    const port = sock.address().port;
    expect(await portProblem({ hostIp: '127.0.0.1', hostPort: port, protocol: 'udp' })).toBe(`host port 127.0.0.1:${port}/udp is in use by another program`);
    // A UDP socket does not hold the TCP port of the same number.
    expect(await portProblem({ hostIp: '127.0.0.1', hostPort: port, protocol: 'tcp' })).toBeNull();
  });

  it('is null for a free UDP port', async () => {
    const port = await freeLoopbackPort();
    expect(await portProblem({ hostIp: '127.0.0.1', hostPort: port, protocol: 'udp' })).toBeNull();
  });

  it.each(['tcp', 'udp'] as const)('says an address that is not on this host is not (%s)', async (protocol) => {
    // 192.0.2.0/24 is TEST-NET-1: documentation only, never configured on a host.
    expect(await portProblem({ hostIp: '192.0.2.1', hostPort: 8080, protocol })).toBe(
      `host address 192.0.2.1 (in 192.0.2.1:8080/${protocol}) is not an address of this host`,
    );
  });

  it('refuses a privileged port up front when bentod is not root, naming the limit', async () => {
    vi.spyOn(process, 'getuid').mockReturnValue(1000);
    const read = fs.readFileSync;
    vi.spyOn(fs, 'readFileSync').mockImplementation(((p: fs.PathOrFileDescriptor, o?: unknown) =>
      p === '/proc/sys/net/ipv4/ip_unprivileged_port_start' ? '1024\n' : read(p, o as BufferEncoding)) as typeof fs.readFileSync);
    expect(await portProblem({ hostIp: '127.0.0.1', hostPort: 80, protocol: 'tcp' })).toBe(
      'host port 127.0.0.1:80/tcp is a privileged port (below 1024) and bentod does not run as root; choose a port of 1024 or more',
    );
    // The sysctl decides where privileged ports end.
    vi.mocked(fs.readFileSync).mockImplementation(((p: fs.PathOrFileDescriptor, o?: unknown) =>
      p === '/proc/sys/net/ipv4/ip_unprivileged_port_start' ? '80\n' : read(p, o as BufferEncoding)) as typeof fs.readFileSync);
    expect(await portProblem({ hostIp: '127.0.0.1', hostPort: 79, protocol: 'tcp' })).toMatch(/below 80\)/);
  });
});

describe('freeLoopbackPort', () => {
  it('returns an unprivileged port that can be bound on 127.0.0.1', async () => {
    const port = await freeLoopbackPort();
    expect(Number.isInteger(port)).toBe(true);
    expect(port).toBeGreaterThanOrEqual(1024);
    expect(port).toBeLessThanOrEqual(65535);
    const srv = net.createServer();
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen({ host: '127.0.0.1', port, exclusive: true }, resolve);
    });
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
});

describe('sshBanner', () => {
  it('reads the identification line of a server that sends one', async () => {
    const { port } = await server((s) => s.write('SSH-2.0-test\r\n'));
    expect(await sshBanner('127.0.0.1', port, 5_000)).toBe('SSH-2.0-test');
  });

  it('skips lines a server may send before its identification (RFC 4253 4.2)', async () => {
    const { port } = await server((s) => s.write('Welcome\r\nauthorised use only\nSSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'));
    expect(await sshBanner('127.0.0.1', port, 5_000)).toBe('SSH-2.0-OpenSSH_9.2p1 Debian-2');
  });

  it('waits for the whole line when the banner arrives in pieces', async () => {
    const { port } = await server((s) => {
      s.write('SSH-2.0-Open');
      setTimeout(() => s.write('SSH_9.2\r\n'), 150);
    });
    expect(await sshBanner('127.0.0.1', port, 5_000)).toBe('SSH-2.0-OpenSSH_9.2');
  });

  it('is null when the server accepts and closes at once (what QEMU does with nothing listening in the guest)', async () => {
    const { port } = await server((s) => s.destroy());
    expect(await sshBanner('127.0.0.1', port, 5_000)).toBeNull();
  });

  it('is null when nothing listens', async () => {
    const port = await freeLoopbackPort();
    expect(await sshBanner('127.0.0.1', port, 5_000)).toBeNull();
  });

  it('is null after the timeout when the server sends garbage and then nothing', async () => {
    const { port, sockets } = await server((s) => s.write('HTTP/1.1 400 Bad Request\r\n\r\n'));
    expect(await sshBanner('127.0.0.1', port, 300)).toBeNull();
    // The client hung up when it gave up.
    await vi.waitFor(() => expect(sockets[0]?.destroyed || sockets[0]?.readableEnded).toBe(true));
  });

  it('gives up on a flood of non-banner bytes without waiting for the timeout', async () => {
    const { port } = await server((s) => s.write('x'.repeat(8192)));
    expect(await sshBanner('127.0.0.1', port, 60_000)).toBeNull();
  });
});
