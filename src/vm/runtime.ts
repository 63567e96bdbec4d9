import fs from 'node:fs';
import { writeFileSync } from 'atomically';
import { z } from 'zod';
import type { Accel } from './types.js';

/** What bentod records about a running VM so a later bentod can re-adopt it (state.json). */
export interface RuntimeRecord {
  pid: number;
  startTime: string;
  startedAt: string;
  accel: Accel;
  /** The reason of the last state change, kept across bentod restarts. */
  reason: string | null;
  /** The serial log's size when this run started. */
  logOffset: number;
  /** The host port on 127.0.0.1 forwarded to the guest's SSH port in this run, or null. */
  sshPort: number | null;
  /**
   * A suspend or restore under way in this run, so a bentod that starts after a crash knows what
   * the process was doing: `paused` is whether the guest stays paused afterwards (suspend: it was
   * paused before; restore: it was paused when saved). Null when neither runs.
   */
  operation?: RuntimeOperation | null;
  /** Whether the guest was paused when its state was saved (a saved VM comes back paused then). */
  savedPaused?: boolean;
}

/** A suspend or restore recorded in state.json while it runs. */
export interface RuntimeOperation {
  kind: 'suspend' | 'restore';
  paused: boolean;
}

const recordSchema = z.object({
  pid: z.number().int().positive(),
  startTime: z.string(),
  startedAt: z.string(),
  accel: z.enum(['kvm', 'hvf', 'tcg', 'vz']),
  reason: z.string().nullable(),
  logOffset: z.number().int().min(0).default(0),
  sshPort: z.number().int().min(1).max(65535).nullable().default(null),
  operation: z.object({ kind: z.enum(['suspend', 'restore']), paused: z.boolean() }).nullable().default(null),
  savedPaused: z.boolean().default(false),
});

/** Reads state.json; null when absent or unreadable (it is a hint, never trusted alone). */
export function readRuntime(file: string): RuntimeRecord | null {
  try {
    const parsed = recordSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Writes state.json atomically (temp file, fsync, rename), mode 0600. */
export function writeRuntime(file: string, record: RuntimeRecord): void {
  writeFileSync(file, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 });
}

/** Changes some fields of state.json (atomically); false when there is no readable record to change. */
export function updateRuntime(file: string, patch: Partial<RuntimeRecord>): boolean {
  const rec = readRuntime(file);
  if (!rec) return false;
  writeRuntime(file, { ...rec, ...patch });
  return true;
}

/** The serial log's size at which it is rotated to serial.log.1 while the VM runs (the one before is dropped). */
export const SERIAL_LOG_CAP = 16 * 1024 * 1024;

/** Appends one JSON line to events.log; a failure here must never break a state change. */
export function appendEvent(file: string, event: object): void {
  try {
    fs.appendFileSync(file, JSON.stringify(event) + '\n', { mode: 0o600 });
  } catch {
    // The log is for people; the state change already happened.
  }
}
