import fs from 'node:fs';
import { writeFileSync } from 'atomically';
import type { VmFiles } from './paths.js';
import { readLogIndex, type LogIndex } from './serial-log.js';

/** Boots kept in log-index.json at most (older ones are rotated away long before). */
const MAX_BOOTS = 64;
/** Past the cap, a line this long without an end is cut so one endless line cannot grow the log. */
const ENDLESS_LINE = 1024 * 1024;

/**
 * Writes a VM's serial log the way bento-vmm (native/src/vmm/vmm.c) does, for backends whose log
 * writer runs in Node (the vz helper): a separator record and a log-index.json entry per boot, and
 * rotation to serial.log.1 at a line end once the log passes its cap. Both write the same files in
 * the same format, so bentod reads either the same way (src/vm/serial-log.ts).
 */
export class SerialLogWriter {
  private fd: number;
  private size: number;
  private endsLine: boolean;
  private index: LogIndex;

  /** Opens the log (never through a symlink) and writes this boot's separator record. */
  constructor(
    private readonly files: Pick<VmFiles, 'serialLog' | 'serialLogOld' | 'logIndex'>,
    private readonly cap: number,
    now: Date = new Date(),
  ) {
    this.index = readLogIndex(files) ?? { version: 1, generation: 0, boots: [] };
    this.fd = this.open();
    this.size = fs.fstatSync(this.fd).size;
    this.endsLine = this.lastByte() === 0x0a;
    if (this.size >= this.cap) this.rotate();
    if (!this.endsLine) this.raw(Buffer.from('\r\n'));
    const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const boot = (this.index.boots.at(-1)?.boot ?? 0) + 1;
    this.index.boots = [...this.index.boots, { boot, at, generation: this.index.generation, offset: this.size }].slice(-MAX_BOOTS);
    this.raw(Buffer.from(`-- bento: boot ${boot}, ${at} --\r\n`));
    this.writeIndex();
  }

  /** The offset in serial.log where this boot's record starts. */
  get bootOffset(): number {
    return this.index.boots.at(-1)!.offset;
  }

  private open(): number {
    const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;
    const fd = fs.openSync(this.files.serialLog, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
    if (!fs.fstatSync(fd).isFile()) {
      fs.closeSync(fd);
      throw new Error(`${this.files.serialLog} is not a regular file`);
    }
    return fd;
  }

  private lastByte(): number {
    if (this.size === 0) return 0x0a;
    const buf = Buffer.alloc(1);
    const rfd = fs.openSync(this.files.serialLog, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      fs.readSync(rfd, buf, 0, 1, this.size - 1);
    } finally {
      fs.closeSync(rfd);
    }
    return buf[0]!;
  }

  private raw(chunk: Buffer): void {
    if (chunk.length === 0) return;
    let off = 0;
    while (off < chunk.length) off += fs.writeSync(this.fd, chunk, off, chunk.length - off);
    this.size += chunk.length;
    this.endsLine = chunk[chunk.length - 1] === 0x0a;
  }

  /** Appends guest output; throws on a write error (a full disk), which the caller reports once. */
  write(chunk: Buffer): void {
    while (chunk.length > 0) {
      if (this.size >= this.cap) {
        const nl = chunk.indexOf(0x0a);
        if (nl >= 0) {
          this.raw(chunk.subarray(0, nl + 1));
          chunk = chunk.subarray(nl + 1);
          this.rotate();
          continue;
        }
        if (this.size >= this.cap + ENDLESS_LINE) {
          this.rotate();
          continue;
        }
      }
      this.raw(chunk);
      return;
    }
  }

  private rotate(): void {
    fs.fsyncSync(this.fd);
    fs.renameSync(this.files.serialLog, this.files.serialLogOld);
    fs.closeSync(this.fd);
    this.index.generation += 1;
    this.index.boots = this.index.boots.filter((b) => b.generation >= this.index.generation - 1);
    this.fd = this.open();
    this.size = 0;
    this.endsLine = true;
    this.writeIndex();
  }

  private writeIndex(): void {
    writeFileSync(this.files.logIndex, JSON.stringify(this.index) + '\n', { mode: 0o600 });
  }

  /** Flushes and closes the log. */
  close(): void {
    try {
      fs.fsyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
    }
  }
}
