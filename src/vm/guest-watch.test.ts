import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GuestWatch, type GuestWatchOptions } from './guest-watch.js';
import { vmFiles, type VmFiles } from './paths.js';
import type { LogIndex } from './serial-log.js';
import { readKnownHosts, writeKnownHosts } from './ssh.js';

const ECDSA = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFwmoFqZzG9rNGEpKPpYbfZ/NdddEIi2xTcDO11EGB3fZjDFkp8BTvSX1f3GS/9OixmBN59SJE8ZkSnHNOlnhMc=';
const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbKr6BSZ+qWI8i2Wx8afWt7puSIJBq+ArObMnnxpL3a';
const OLD = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZl8p0bq3U0Hh1vHc2oQm6m1jCq4nJ8+2dWq1yFtQ7X';
const ALIAS = 'bento-web';
/** The watch ticks once a second: a few ticks fit easily. */
const WAIT = { timeout: 8_000, interval: 25 };

function keyBlock(keys: string[]): string {
  return ['-----BEGIN SSH HOST KEY KEYS-----', ...keys.map((k) => `${k} root@web`), '-----END SSH HOST KEY KEYS-----', ''].join('\r\n');
}
const FINAL = '[   41.50] cloud-init[612]: bento: cloud-init finished after 35.20 seconds\r\n';
const separator = (boot: number): string => `-- bento: boot ${boot}, 2026-11-30T05:00:00Z --\r\n`;

/** A VM folder with bento-vmm's log files, written the way bento-vmm writes them. */
class VmLog {
  readonly files: VmFiles;
  generation = 0;
  boots: LogIndex['boots'] = [];

  constructor(readonly dir: string) {
    this.files = vmFiles(dir);
    fs.writeFileSync(this.files.serialLog, '');
  }

  /** Starts a boot: its separator record, and its entry in the index. */
  boot(): void {
    const offset = fs.statSync(this.files.serialLog).size;
    const boot = this.boots.length + 1;
    this.boots.push({ boot, at: '2026-11-30T05:00:00Z', generation: this.generation, offset });
    this.append(separator(boot));
    this.writeIndex();
  }

  append(text: string): void {
    fs.appendFileSync(this.files.serialLog, text);
  }

  /** serial.log becomes serial.log.1 and a new, empty serial.log is the next generation. */
  rotate(): void {
    fs.renameSync(this.files.serialLog, this.files.serialLogOld);
    fs.writeFileSync(this.files.serialLog, '');
    this.generation += 1;
    this.boots = this.boots.filter((b) => b.generation >= this.generation - 1);
    this.writeIndex();
  }

  private writeIndex(): void {
    const index: LogIndex = { version: 1, generation: this.generation, boots: this.boots };
    fs.writeFileSync(this.files.logIndex, JSON.stringify(index));
  }
}

/** A TCP server on 127.0.0.1 standing in for the forwarded SSH port: an sshd (banner), or QEMU with nothing behind it (mute). */
class FakeSshPort {
  mode: 'banner' | 'mute';
  connections = 0;
  /** Connections the client has hung up (it does so as soon as it has its answer). */
  hungUp = 0;
  port = 0;
  private readonly srv: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(mode: 'banner' | 'mute') {
    this.mode = mode;
    this.srv = net.createServer((s) => {
      this.connections += 1;
      this.sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        this.hungUp += 1;
        this.sockets.delete(s);
      });
      if (this.mode === 'banner') s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n');
      else s.destroy();
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.srv.listen({ host: '127.0.0.1', port: 0 }, resolve));
    this.port = (this.srv.address() as net.AddressInfo).port;
    return this;
  }

  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.srv.close(() => resolve()));
  }
}

let dir: string;
let log: VmLog;
const watches: GuestWatch[] = [];
const servers: FakeSshPort[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-watch-'));
  log = new VmLog(dir);
});
afterEach(async () => {
  for (const w of watches.splice(0)) w.stop();
  for (const s of servers.splice(0)) await s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function sshPort(mode: 'banner' | 'mute'): Promise<FakeSshPort> {
  const s = await new FakeSshPort(mode).listen();
  servers.push(s);
  return s;
}

function watch(port: FakeSshPort, extra: Partial<GuestWatchOptions> = {}): { w: GuestWatch; onChange: ReturnType<typeof vi.fn>; lines: string[] } {
  const onChange = vi.fn();
  const lines: string[] = [];
  const w = new GuestWatch({ files: log.files, sshPort: port.port, seeded: true, hostKeyAlias: ALIAS, onChange, log: (l) => lines.push(l), ...extra });
  watches.push(w);
  return { w, onChange, lines };
}

/** Waits until the watch has finished a tick that knocked on the port (the knock comes after the log read). */
async function afterKnock(port: FakeSshPort, n = 1): Promise<void> {
  await vi.waitFor(() => expect(port.hungUp).toBeGreaterThanOrEqual(n), WAIT);
  // The tick sets its flags as soon as the knock resolves, before the server sees the hang-up.
  await new Promise((r) => setTimeout(r, 50));
}

/** Waits until at least `n` more ticks have read the log after now (each tick of a mute port knocks once). */
async function ticks(port: FakeSshPort, n: number): Promise<void> {
  // The next connection may belong to a tick that read the log just before now: count one more.
  const target = port.connections + n + 1;
  await vi.waitFor(() => expect(port.connections).toBeGreaterThanOrEqual(target), { ...WAIT, timeout: (n + 2) * 2_000 });
}

describe('GuestWatch', () => {
  it('pins the host keys when the block appears and is ready after the final message and the banner', async () => {
    log.boot();
    log.append('[    0.000000] Linux version 6.1.0-18-cloud-amd64\r\n');
    const port = await sshPort('banner');
    const { w, onChange, lines } = watch(port);
    expect(w.hostKeysPinned).toBe(false);
    await afterKnock(port);
    // The SSH server answers, but nothing of cloud-init yet.
    expect(w.ready).toBe(false);
    expect(w.hostKeysPinned).toBe(false);
    expect(onChange).not.toHaveBeenCalled();
    expect(fs.existsSync(log.files.knownHosts)).toBe(false);

    log.append('<14>Nov 30 07:22:04 ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\r\n' + keyBlock([ECDSA, ED]));
    await vi.waitFor(() => expect(w.hostKeysPinned).toBe(true), WAIT);
    expect(w.ready).toBe(false);
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(readKnownHosts(log.files.knownHosts, ALIAS)).toEqual([ECDSA, ED]);
    expect(fs.readFileSync(log.files.knownHosts, 'utf8')).toBe(`${ALIAS} ${ECDSA}\n${ALIAS} ${ED}\n`);
    expect(lines).toContain("pinned 2 host keys read from the guest's console");

    log.append(FINAL + '\r\nweb login: ');
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
    expect(w.hostKeysPinned).toBe(true);
    expect(onChange).toHaveBeenCalledTimes(2);
    // One knock was enough: the banner is not asked for again.
    expect(port.connections).toBe(1);
  });

  it('finds a key block written across two reads', async () => {
    log.boot();
    const port = await sshPort('mute');
    const { w } = watch(port);
    const text = keyBlock([ECDSA, ED]);
    const cut = text.indexOf(ED) + 20;
    log.append(text.slice(0, cut));
    await ticks(port, 1);
    expect(w.hostKeysPinned).toBe(false);
    log.append(text.slice(cut));
    await vi.waitFor(() => expect(w.hostKeysPinned).toBe(true), WAIT);
    expect(readKnownHosts(log.files.knownHosts, ALIAS)).toEqual([ECDSA, ED]);
  });

  it('ignores a key block and a final message printed by an earlier boot', async () => {
    log.boot();
    log.append(keyBlock([OLD]) + FINAL + 'old login: \r\n');
    log.boot();
    log.append('[    0.000000] Linux version 6.1.0-18-cloud-amd64\r\n');
    const port = await sshPort('banner');
    const { w, onChange } = watch(port);
    await afterKnock(port);
    expect(w.hostKeysPinned).toBe(false);
    expect(w.ready).toBe(false);
    expect(onChange).not.toHaveBeenCalled();
    expect(fs.existsSync(log.files.knownHosts)).toBe(false);

    log.append(keyBlock([ECDSA, ED]));
    await vi.waitFor(() => expect(w.hostKeysPinned).toBe(true), WAIT);
    expect(readKnownHosts(log.files.knownHosts, ALIAS)).toEqual([ECDSA, ED]);
    // The earlier boot's final message does not count for this one.
    expect(w.ready).toBe(false);
    log.append(FINAL);
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
  });

  it('never replaces keys pinned by an earlier run', async () => {
    writeKnownHosts(log.files.knownHosts, ALIAS, [OLD]);
    log.boot();
    const port = await sshPort('banner');
    const { w, onChange } = watch(port);
    expect(w.hostKeysPinned).toBe(true);
    log.append(keyBlock([ECDSA, ED]) + FINAL);
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
    expect(readKnownHosts(log.files.knownHosts, ALIAS)).toEqual([OLD]);
    expect(onChange).toHaveBeenCalledTimes(1);
  });

  it('never replaces keys it pinned with a later block of the same boot', async () => {
    log.boot();
    const port = await sshPort('banner');
    const { w } = watch(port);
    log.append(keyBlock([ECDSA, ED]));
    await vi.waitFor(() => expect(w.hostKeysPinned).toBe(true), WAIT);
    log.append('[   50.0] something printed keys again\r\n' + keyBlock([OLD]) + FINAL);
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
    expect(readKnownHosts(log.files.knownHosts, ALIAS)).toEqual([ECDSA, ED]);
  });

  it('is not ready without an SSH banner, even after the final message, and keeps knocking until one comes', async () => {
    log.boot();
    log.append(keyBlock([ECDSA, ED]) + FINAL);
    // QEMU's forward accepts and closes when nothing listens in the guest.
    const port = await sshPort('mute');
    const { w, onChange } = watch(port);
    await vi.waitFor(() => expect(w.hostKeysPinned).toBe(true), WAIT);
    await ticks(port, 2);
    expect(w.ready).toBe(false);
    expect(onChange).toHaveBeenCalledTimes(1);
    port.mode = 'banner';
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
    expect(onChange).toHaveBeenCalledTimes(2);
  });

  it('does not lose a final message that was rotated into serial.log.1 before it was read', async () => {
    log.boot();
    log.append(keyBlock([ECDSA, ED]));
    const port = await sshPort('banner');
    const { w } = watch(port);
    await vi.waitFor(() => expect(w.hostKeysPinned).toBe(true), WAIT);
    await afterKnock(port);
    expect(w.ready).toBe(false);
    // Between two ticks: the final message is written, then the log rotates.
    log.append('[   40.0] lots of output\r\n' + FINAL);
    log.rotate();
    log.append('\r\nweb login: ');
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
  });

  it('finds a final message cut in two by a rotation', async () => {
    log.boot();
    log.append(keyBlock([ECDSA, ED]));
    const port = await sshPort('banner');
    const { w } = watch(port);
    await vi.waitFor(() => expect(w.hostKeysPinned).toBe(true), WAIT);
    await afterKnock(port);
    const cut = FINAL.indexOf('finished') + 3;
    log.append(FINAL.slice(0, cut));
    log.rotate();
    log.append(FINAL.slice(cut));
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
  });

  it('reads a boot that began in serial.log.1 when the watch starts after a rotation', async () => {
    log.boot();
    log.append(keyBlock([OLD]) + FINAL);
    log.boot();
    log.append(keyBlock([ECDSA, ED]));
    log.rotate();
    log.append(FINAL);
    const port = await sshPort('banner');
    const { w } = watch(port);
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
    expect(w.hostKeysPinned).toBe(true);
    expect(readKnownHosts(log.files.knownHosts, ALIAS)).toEqual([ECDSA, ED]);
  });

  it('reads serial.log.1 when the log rotated twice between two reads', async () => {
    log.boot();
    log.append(keyBlock([ECDSA, ED]));
    const port = await sshPort('banner');
    const { w } = watch(port);
    await vi.waitFor(() => expect(w.hostKeysPinned).toBe(true), WAIT);
    await afterKnock(port);
    // Between two ticks: a flood of output, a rotation, the final message, another rotation.
    log.append('[   40.0] lots of output\r\n');
    log.rotate();
    log.append('[   40.5] more output\r\n' + FINAL);
    log.rotate();
    log.append('\r\nweb login: ');
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
  });

  it('starts at the oldest byte kept when the boot\'s own start was rotated away', async () => {
    log.boot();
    log.append('[    0.000000] Linux version 6.1.0-18-cloud-amd64\r\n');
    log.rotate();
    log.append(keyBlock([ECDSA, ED]) + FINAL);
    log.rotate();
    log.append('web login: ');
    expect(log.boots).toEqual([]);
    const port = await sshPort('banner');
    const { w } = watch(port);
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
    expect(readKnownHosts(log.files.knownHosts, ALIAS)).toEqual([ECDSA, ED]);
  });

  it('without a seed, is ready on the banner alone and pins nothing', async () => {
    log.boot();
    log.append(keyBlock([ECDSA, ED]));
    const port = await sshPort('banner');
    const { w, onChange } = watch(port, { seeded: false });
    await vi.waitFor(() => expect(w.ready).toBe(true), WAIT);
    expect(w.hostKeysPinned).toBe(false);
    expect(fs.existsSync(log.files.knownHosts)).toBe(false);
    expect(onChange).toHaveBeenCalledTimes(1);
  });

  it('does nothing more once stopped', async () => {
    log.boot();
    const port = await sshPort('mute');
    const { w, onChange } = watch(port);
    await ticks(port, 0);
    w.stop();
    // A tick already knocking finishes its knock but changes nothing.
    await new Promise((r) => setTimeout(r, 200));
    const knocks = port.connections;
    port.mode = 'banner';
    log.append(keyBlock([ECDSA, ED]) + FINAL);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(port.connections).toBe(knocks);
    expect(w.ready).toBe(false);
    expect(w.hostKeysPinned).toBe(false);
    expect(onChange).not.toHaveBeenCalled();
    expect(fs.existsSync(log.files.knownHosts)).toBe(false);
  });
});
