import fs from 'node:fs';
import { z } from 'zod';
import type { VmFiles } from './paths.js';

/**
 * The serial log on disk: serial.log (generation G) and serial.log.1 (G-1), written only by
 * bento-vmm from the console socket stream, with every boot's start in log-index.json. A position
 * names a file and an offset in it.
 */
export interface LogPosition {
  file: string;
  offset: number;
}

const indexSchema = z.object({
  version: z.literal(1),
  generation: z.number().int().min(0),
  boots: z.array(z.object({ boot: z.number().int(), at: z.string(), generation: z.number().int(), offset: z.number().int().min(0) })),
});

/** log-index.json: the log's generation and where each boot it still holds begins. */
export type LogIndex = z.infer<typeof indexSchema>;

/** One boot in the log. */
export type BootEntry = LogIndex['boots'][number];

/** Reads log-index.json; null when absent or unreadable (an older VM, or vz). */
export function readLogIndex(files: Pick<VmFiles, 'logIndex'>): LogIndex | null {
  try {
    const parsed = indexSchema.safeParse(JSON.parse(fs.readFileSync(files.logIndex, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Where a boot's separator record is, or null when its start was rotated away. */
export function bootPosition(files: Pick<VmFiles, 'serialLog' | 'serialLogOld'>, index: LogIndex, boot: BootEntry): LogPosition | null {
  if (boot.generation === index.generation) return { file: files.serialLog, offset: boot.offset };
  if (boot.generation === index.generation - 1) return { file: files.serialLogOld, offset: boot.offset };
  return null;
}

/** A stretch of one log file; `end` null means up to the file's end. */
export interface LogSegment {
  file: string;
  start: number;
  end: number | null;
}

/** Which boots `bento logs` shows: the current (or last) one, an earlier one counted back, or all. */
export type BootSelector = { kind: 'current' } | { kind: 'back'; n: number } | { kind: 'all' };

/**
 * The segments of the log that hold the chosen boot, in order. A boot whose start was rotated away
 * begins at the oldest byte still kept. Returns null when that boot is not in the log any more.
 */
export function bootSegments(files: Pick<VmFiles, 'serialLog' | 'serialLogOld' | 'logIndex'>, sel: BootSelector): LogSegment[] | null {
  const whole: LogSegment[] = [
    { file: files.serialLogOld, start: 0, end: null },
    { file: files.serialLog, start: 0, end: null },
  ];
  const index = readLogIndex(files);
  if (sel.kind === 'all' || !index || index.boots.length === 0) return sel.kind === 'back' && sel.n > 0 ? null : whole;
  const i = index.boots.length - 1 - (sel.kind === 'back' ? sel.n : 0);
  const boot = index.boots[i];
  if (!boot) return null;
  const from = bootPosition(files, index, boot) ?? { file: files.serialLogOld, offset: 0 };
  const next = index.boots[i + 1];
  const to = next ? bootPosition(files, index, next) : null;
  if (next && !to) return null; // the next boot starts in a generation that is gone: so is this one
  const segs: LogSegment[] = [];
  if (from.file === files.serialLogOld) {
    segs.push({ file: files.serialLogOld, start: from.offset, end: to?.file === files.serialLogOld ? to.offset : null });
    if (!to || to.file === files.serialLog) segs.push({ file: files.serialLog, start: 0, end: to ? to.offset : null });
  } else {
    segs.push({ file: files.serialLog, start: from.offset, end: to ? to.offset : null });
  }
  return segs;
}

/** Opens a log file for reading without following a symlink planted in its place. */
export function openLogFile(file: string): number {
  return fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
}

/**
 * Where a viewer's scrollback of up to `bytes` starts: never before the current boot's separator
 * record (a viewer never sees the previous boot's bytes) and, when it does not start at that record,
 * at the start of a line.
 */
export function scrollbackStart(files: Pick<VmFiles, 'serialLog' | 'serialLogOld' | 'logIndex'>, bytes: number, fallbackFloor = 0): LogPosition {
  const index = readLogIndex(files);
  const last = index?.boots.at(-1);
  const floor = index && last ? bootPosition(files, index, last) : { file: files.serialLog, offset: fallbackFloor };
  const size = fileSize(files.serialLog);
  let pos: LogPosition;
  if (floor && floor.file === files.serialLog) {
    pos = { file: files.serialLog, offset: Math.max(floor.offset, size - bytes) };
  } else if (size >= bytes) {
    pos = { file: files.serialLog, offset: size - bytes };
  } else {
    const oldSize = fileSize(files.serialLogOld);
    const want = oldSize - (bytes - size);
    pos = { file: files.serialLogOld, offset: Math.max(floor?.offset ?? 0, want, 0) };
  }
  const atFloor = floor !== null && pos.file === floor.file && pos.offset === floor.offset;
  return atFloor || pos.offset === 0 ? pos : nextLineStart(pos);
}

/** The first line start at or after a position (the position itself when the byte before is LF). */
function nextLineStart(pos: LogPosition): LogPosition {
  let fd: number;
  try {
    fd = openLogFile(pos.file);
  } catch {
    return pos;
  }
  try {
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, pos.offset - 1);
    const nl = buf.subarray(0, n).indexOf(0x0a);
    // No line end within 4 KiB: a very long line; start mid-line rather than show nothing.
    return nl < 0 ? pos : { file: pos.file, offset: pos.offset - 1 + nl + 1 };
  } finally {
    fs.closeSync(fd);
  }
}

function fileSize(file: string): number {
  try {
    return fs.lstatSync(file).size;
  } catch {
    return 0;
  }
}
