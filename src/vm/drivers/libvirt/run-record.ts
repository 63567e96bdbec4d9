import fs from 'node:fs';
import path from 'node:path';
import { writeFileSync } from 'atomically';

/** The file in a libvirt VM's bentod folder that remembers when bentod saw the current run start. */
export const RUN_FILE = 'run.json';

/**
 * When a domain's run started, as bentod saw it: libvirt keeps no start time, but a running domain
 * keeps its id until it stops (also across libvirtd restarts), and ids are not reused while libvirtd
 * runs. So a bentod that restarts, or reconnects, and finds the domain running under the same id
 * knows its uptime again.
 */
export interface RunRecord {
  id: number;
  startedAt: string;
}

/** The recorded start of the run with this domain id, or null (another run, none, or an unreadable file). */
export function readRunStart(dir: string, id: number): Date | null {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(dir, RUN_FILE), 'utf8')) as Partial<RunRecord>;
    if (r.id !== id || typeof r.startedAt !== 'string') return null;
    const at = new Date(r.startedAt);
    return Number.isNaN(at.getTime()) ? null : at;
  } catch {
    return null;
  }
}

/** Records a run's start (the folder is made 0700 when missing; the file is replaced atomically). */
export function writeRunStart(dir: string, id: number, startedAt: Date): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const record: RunRecord = { id, startedAt: startedAt.toISOString() };
  writeFileSync(path.join(dir, RUN_FILE), `${JSON.stringify(record)}\n`, { mode: 0o600 });
}
