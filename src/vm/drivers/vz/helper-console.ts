import fs from 'node:fs';
import net from 'node:net';

/** Output a console client may have queued before we stop sending it more (it only needs wake-ups). */
const MAX_CLIENT_BACKLOG = 1024 * 1024;

/** Where the helper's console plumbing is connected. */
export interface HelperConsoleOptions {
  /** Read end of the guest's output pipe (from the addon). */
  readFd: number;
  /** Write end of the guest's input pipe (from the addon). */
  writeFd: number;
  /** Appends guest output to the VM's serial log (boot records and rotation included); throws on a write error. */
  writeLog: (chunk: Buffer) => void;
  /** The console socket bentod's ConsoleSession connects to. */
  socketPath: string;
  log: (line: string) => void;
}

/**
 * The vz console, shaped like bento-vmm's socket, so bentod's ConsoleSession works unchanged: guest
 * output is appended to serial.log first and then sent to every socket client (the log is what
 * viewers read; the socket bytes are a wake-up), and bytes from clients go to the guest.
 */
export class HelperConsole {
  private readonly clients = new Set<net.Socket>();
  private readonly server: net.Server;
  private readonly fromGuest: net.Socket;
  private readonly toGuest: net.Socket;
  private logBroken = false;

  constructor(private readonly opts: HelperConsoleOptions) {
    // net.Socket on a pipe fd: non-blocking reads and writes on the event loop, no thread per pipe.
    this.fromGuest = new net.Socket({ fd: opts.readFd, readable: true, writable: false });
    this.toGuest = new net.Socket({ fd: opts.writeFd, readable: false, writable: true });
    this.fromGuest.on('data', (chunk: Buffer) => this.output(chunk));
    this.fromGuest.on('error', (err) => opts.log(`console output pipe: ${err.message}`));
    this.toGuest.on('error', (err) => opts.log(`console input pipe: ${err.message}`));
    this.server = net.createServer((sock) => this.accept(sock));
  }

  /** Starts serving the console socket. */
  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.socketPath, () => {
        this.server.off('error', reject);
        // 0600 like every bento socket (the umask leaves 0700); the VM folder is 0700 as well.
        fs.chmodSync(this.opts.socketPath, 0o600);
        resolve();
      });
    });
  }

  private output(chunk: Buffer): void {
    if (!this.logBroken) {
      try {
        this.opts.writeLog(chunk);
      } catch (err) {
        // A full disk must not stall the guest: keep draining the pipe and tell the log once.
        this.logBroken = true;
        this.opts.log(`cannot append to serial.log, console output is no longer kept: ${(err as Error).message}`);
      }
    }
    for (const c of this.clients) if (c.writableLength < MAX_CLIENT_BACKLOG) c.write(chunk);
  }

  private accept(sock: net.Socket): void {
    this.clients.add(sock);
    sock.on('data', (data: Buffer) => {
      // Backpressure: a guest that reads slowly slows the typist, not the helper's memory.
      if (!this.toGuest.write(data)) {
        sock.pause();
        this.toGuest.once('drain', () => sock.resume());
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => this.clients.delete(sock));
  }

  /** Closes the socket, every client and both pipe ends, and removes the socket file. */
  async close(): Promise<void> {
    for (const c of this.clients) c.destroy();
    this.clients.clear();
    this.fromGuest.destroy();
    this.toGuest.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.opts.socketPath, { force: true });
  }
}
