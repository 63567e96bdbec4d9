import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { errorMessage } from '../../errors.js';
import { FILES, MAX_SOCKET_PATH, vmFiles } from '../../paths.js';
import { SerialLogWriter } from '../../serial-log-writer.js';
import { listenPrivate } from '../../private-socket.js';
import { Listeners } from '../../listeners.js';
import type { ConsoleEndpoint } from '../driver.js';
import type { ConsoleStream } from './binding.js';

/** What a relay needs: where its files go and how to open the libvirt console stream. */
export interface ConsoleRelayOptions {
  /** The VM's name (HOST/DOMAIN), for messages. */
  name: string;
  /** bentod's folder for the VM (made 0700): the serial log, its index and the socket live here. */
  dir: string;
  /** Opens the domain's console stream with these handlers (the host binds the connection, domain, force and a timeout). */
  openStream: (handlers: { onData: (chunk: Buffer) => void; onEnd: (err: Error | null) => void }) => Promise<ConsoleStream>;
  /** Size at which the serial log is rotated. */
  logCap: number;
  log: (line: string) => void;
  /** Whether a client of the socket may use it (peer uid check); absent: the 0600 socket in a 0700 folder is the guard. */
  admit?: (socket: net.Socket) => boolean;
}

/**
 * The console of a libvirt domain, shaped like bento-vmm's console socket so bentod's ConsoleSession
 * serves it unchanged: the libvirt console stream's output is appended to the VM's serial log in
 * bentod's folder for it (SerialLogWriter: the same format and log-index.json as local VMs), and each
 * client of the relay's Unix socket gets a one-byte wake-up when the log grows (never queued behind
 * an unread one, as bento-vmm's MSG_DONTWAIT send); bytes a client writes go to the guest. Flow
 * control: while the stream has more than it takes queued (write returns false), no client is read
 * until the stream drains, so a typist outrunning a slow guest is paused rather than buffered.
 */
export class ConsoleRelay {
  /** What ConsoleSession connects to. */
  readonly endpoint: ConsoleEndpoint;
  private readonly clients = new Set<net.Socket>();
  private stream: ConsoleStream | null = null;
  private inputBlocked = false;
  private logBroken = false;
  private done = false;
  private closing: Promise<void> | null = null;
  private readonly endListeners = new Listeners<string>();

  private constructor(
    private readonly opts: ConsoleRelayOptions,
    private readonly writer: SerialLogWriter,
    private readonly server: net.Server,
    private readonly socketPath: string,
    private readonly tempDir: string | null,
  ) {
    this.endpoint = { socket: socketPath, log: vmFiles(opts.dir).serialLog, device: 'serial', bootOffset: writer.bootOffset };
  }

  /**
   * Makes the folder, opens the log (a new record in it for this console session), serves the socket,
   * then opens the libvirt stream; rejects (with everything undone) when the stream cannot be opened.
   */
  static async open(opts: ConsoleRelayOptions): Promise<ConsoleRelay> {
    makePrivateDir(opts.dir);
    const { socketPath, tempDir } = socketPlace(opts.dir);
    fs.rmSync(socketPath, { force: true });
    const writer = new SerialLogWriter(vmFiles(opts.dir), opts.logCap);
    const server = net.createServer();
    let relay: ConsoleRelay | null = null;
    try {
      await listenPrivate(server, socketPath);
      server.on('error', (err) => opts.log(`${opts.name}: console socket: ${err.message}`));
      relay = new ConsoleRelay(opts, writer, server, socketPath, tempDir);
      const r = relay;
      server.on('connection', (sock) => r.accept(sock));
      const stream = await opts.openStream({ onData: (chunk) => r.output(chunk), onEnd: (err) => r.ended(err) });
      r.stream = stream;
      stream.onDrain(() => r.drained());
      // The stream may have ended while it was being opened (the domain stopped).
      if (r.done) {
        stream.close();
        throw new Error(`${opts.name}: the console stream ended as it opened`);
      }
      return r;
    } catch (err) {
      if (relay) await relay.close();
      else {
        server.close();
        writer.close();
        fs.rmSync(socketPath, { force: true });
        if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
      }
      throw err;
    }
  }

  /** True once closed (by close() or because the stream ended). */
  get closed(): boolean {
    return this.done;
  }

  /** Called once when the stream ends by itself (the domain stopped, another client took the console, the connection was lost). */
  onEnd(listener: (reason: string) => void): () => void {
    return this.endListeners.add(listener);
  }

  private accept(sock: net.Socket): void {
    if (this.done || (this.opts.admit && !this.opts.admit(sock))) {
      sock.destroy();
      return;
    }
    this.clients.add(sock);
    // A first wake-up: output may have reached the log between the stream opening and this connect.
    sock.write('w');
    if (this.inputBlocked) sock.pause();
    sock.on('data', (data: Buffer) => this.input(data));
    sock.on('error', () => undefined);
    sock.on('close', () => this.clients.delete(sock));
  }

  private input(data: Buffer): void {
    const s = this.stream;
    if (!s || s.closed || this.done) return;
    let ok: boolean;
    try {
      ok = s.write(data);
    } catch (err) {
      this.opts.log(`${this.opts.name}: console input dropped: ${errorMessage(err)}`);
      return;
    }
    if (!ok && !this.inputBlocked) {
      this.inputBlocked = true;
      for (const c of this.clients) c.pause();
    }
  }

  private drained(): void {
    if (!this.inputBlocked) return;
    this.inputBlocked = false;
    for (const c of this.clients) c.resume();
  }

  private output(chunk: Buffer): void {
    if (this.done) return;
    if (!this.logBroken) {
      try {
        this.writer.write(chunk);
      } catch (err) {
        // A full disk must not stall the console: keep reading the stream and say so once.
        this.logBroken = true;
        this.opts.log(`${this.opts.name}: cannot append to the serial log, console output is no longer kept: ${errorMessage(err)}`);
      }
    }
    // One byte, never queued: a client with a wake-up still unread needs no second one.
    for (const c of this.clients) if (c.writableLength === 0 && !c.destroyed) c.write('w');
  }

  private ended(err: Error | null): void {
    if (this.done) return;
    const reason = err ? `console stream failed: ${err.message}` : 'console stream ended';
    void this.close().then(() => {
      this.endListeners.emit(reason);
    });
  }

  /** Closes the stream, the socket and its clients, and the log; idempotent. */
  close(): Promise<void> {
    return (this.closing ??= this.shut());
  }

  private async shut(): Promise<void> {
    this.done = true;
    // The path goes first and at once: a relay opened next for the same VM binds it afresh, and a
    // late unlink here must never remove that one's socket.
    fs.rmSync(this.socketPath, { force: true });
    try {
      this.stream?.close();
    } catch (err) {
      this.opts.log(`${this.opts.name}: closing the console stream: ${errorMessage(err)}`);
    }
    // Clients get a last wake-up first, so a viewer reads whatever the stream's end left in the log.
    for (const c of this.clients) c.end('w');
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    try {
      this.writer.close();
    } catch (err) {
      this.opts.log(`${this.opts.name}: closing the serial log: ${errorMessage(err)}`);
    }
    if (this.tempDir) fs.rmSync(this.tempDir, { recursive: true, force: true });
  }
}

/** Makes a folder and its missing parents 0700 (bentod's files of remote VMs are as private as local ones). */
function makePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
}

/**
 * The relay's socket: console.sock in the VM's folder, or, when that path is too long for a Unix
 * socket (a long domain name under a deep home), one in a fresh private folder under the temp dir.
 */
function socketPlace(dir: string): { socketPath: string; tempDir: string | null } {
  const inDir = path.join(dir, FILES.consoleSocket);
  if (Buffer.byteLength(inDir) <= MAX_SOCKET_PATH) return { socketPath: inDir, tempDir: null };
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-console-'));
  return { socketPath: path.join(tempDir, FILES.consoleSocket), tempDir };
}

