import fs from 'node:fs';
import { FINAL_RE } from './cloud-init.js';
import type { VmFiles } from './paths.js';
import { openLogFile, readLogIndex } from './serial-log.js';
import { parseHostKeys, readKnownHosts, writeKnownHosts } from './ssh.js';
import { sshBanner } from './net.js';
import { errorMessage } from './errors.js';

/** How often the watch looks at the console log and knocks on the SSH port. */
const TICK_MS = 1_000;
/** After this long without an answer the knocking slows down (a guest without sshd never answers). */
const SLOW_AFTER_MS = 10 * 60_000;
const SLOW_TICK_MS = 5_000;
/** Most console bytes read per tick, and the tail kept so a key block split across reads is still found. */
const READ_CHUNK = 1024 * 1024;
const TAIL_KEEP = 64 * 1024;

/** What a watch tells its VM's owner. */
export interface GuestWatchOptions {
  files: Pick<VmFiles, 'serialLog' | 'serialLogOld' | 'logIndex' | 'knownHosts'>;
  sshPort: number;
  /** Whether the guest has a cloud-init seed: then readiness also waits for cloud-init's final message. */
  seeded: boolean;
  hostKeyAlias: string;
  /** Called when `ready` or `hostKeysPinned` changes. */
  onChange: () => void;
  log: (line: string) => void;
}

/**
 * Follows one run of a VM until its guest is reachable: reads the console log of the current boot
 * (for cloud-init's host-key block, pinned into the VM's known_hosts, and its final message) and
 * reads the SSH server's banner through the forwarded port. Never trusts a key it did not see on
 * the guest's own console, and never replaces keys already pinned.
 */
export class GuestWatch {
  ready = false;
  hostKeysPinned: boolean;
  private finalSeen = false;
  private bannerSeen = false;
  private cursor: { generation: number; offset: number } | null = null;
  private tail = '';
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly since = Date.now();

  constructor(private readonly o: GuestWatchOptions) {
    this.hostKeysPinned = readKnownHosts(o.files.knownHosts, o.hostKeyAlias).length > 0;
    this.schedule(0);
  }

  /** Stops watching (the VM stopped, or bentod is exiting). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const before = `${this.ready}/${this.hostKeysPinned}`;
    try {
      if (this.o.seeded && (!this.finalSeen || !this.hostKeysPinned)) this.readLog();
      if (!this.bannerSeen) this.bannerSeen = (await sshBanner('127.0.0.1', this.o.sshPort, 1_500)) !== null;
    } catch (err) {
      this.o.log(`guest watch: ${errorMessage(err)}`);
    }
    if (this.stopped) return;
    this.ready = this.bannerSeen && (this.finalSeen || !this.o.seeded);
    if (`${this.ready}/${this.hostKeysPinned}` !== before) this.o.onChange();
    if (this.ready && (this.hostKeysPinned || !this.o.seeded)) return;
    this.schedule(Date.now() - this.since > SLOW_AFTER_MS ? SLOW_TICK_MS : TICK_MS);
  }

  /** Reads what the console printed since the last tick, from the start of the current boot. */
  private readLog(): void {
    const index = readLogIndex(this.o.files);
    if (!index) return;
    if (!this.cursor) {
      const boot = index.boots.at(-1);
      // A boot whose start was rotated away (no entry left) begins at the oldest byte still kept.
      this.cursor = boot ? { generation: boot.generation, offset: boot.offset } : { generation: Math.max(index.generation - 1, 0), offset: 0 };
    }
    // Rotated more than once since the last read: serial.log.1 is still on disk, read it whole.
    if (this.cursor.generation < index.generation - 1) this.cursor = { generation: index.generation - 1, offset: 0 };
    if (this.cursor.generation === index.generation - 1) {
      this.take(this.o.files.serialLogOld);
      this.cursor = { generation: index.generation, offset: 0 };
    }
    this.take(this.o.files.serialLog);
  }

  private take(file: string): void {
    const cur = this.cursor!;
    let fd: number;
    try {
      fd = openLogFile(file);
    } catch {
      return;
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= cur.offset) return;
      const buf = Buffer.alloc(Math.min(READ_CHUNK, size - cur.offset));
      const n = fs.readSync(fd, buf, 0, buf.length, cur.offset);
      cur.offset += n;
      this.scan(buf.subarray(0, n).toString('latin1'));
    } finally {
      fs.closeSync(fd);
    }
  }

  private scan(text: string): void {
    this.tail = (this.tail + text).slice(-TAIL_KEEP);
    if (!this.finalSeen && FINAL_RE.test(this.tail)) this.finalSeen = true;
    if (!this.hostKeysPinned) {
      const keys = parseHostKeys(this.tail);
      if (keys) {
        writeKnownHosts(this.o.files.knownHosts, this.o.hostKeyAlias, keys);
        this.hostKeysPinned = true;
        this.o.log(`pinned ${keys.length} host keys read from the guest's console`);
      }
    }
  }
}
