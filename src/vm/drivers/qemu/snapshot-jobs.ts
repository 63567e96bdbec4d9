import { BentoError } from '../../errors.js';
import type { ProgressReporter, SnapshotJobKind } from '../driver.js';
import type { QmpClient } from './qmp.js';

/**
 * While QEMU saves or loads a snapshot its main loop is busy, so the monitor answers nothing until
 * the RAM is written or read. A snapshot of many GiB on a slow disk takes minutes; a qemu silent for
 * this long is stuck (and a dead one closes the monitor, which fails the wait at once).
 */
export const SNAPSHOT_JOB_TIMEOUT_MS = 30 * 60_000;
/** How often query-jobs is asked for progress while a job runs. */
const POLL_MS = 250;

const COMMANDS: Record<SnapshotJobKind, string> = { save: 'snapshot-save', load: 'snapshot-load', delete: 'snapshot-delete' };

/** One entry of query-jobs. */
interface QmpJob {
  id: string;
  type: string;
  status: string;
  'current-progress': number;
  'total-progress': number;
  error?: string;
}

/** The drive id bento gives disk `index` of a spec on the qemu command line (argv.ts: `-drive id=disk<i>`). */
export function driveId(index: number): string {
  return `disk${index}`;
}

/** Maps drive ids to the node names the snapshot jobs want (QEMU names the nodes itself, e.g. `#block190`). */
export function nodeNamesFor(blocks: unknown, indexes: number[]): string[] {
  const list = Array.isArray(blocks) ? (blocks as { device?: string; inserted?: { 'node-name'?: string } }[]) : [];
  return indexes.map((i) => {
    const node = list.find((b) => b.device === driveId(i))?.inserted?.['node-name'];
    if (!node) throw new BentoError('internal', `qemu has no block node for drive ${driveId(i)}`);
    return node;
  });
}

let jobSeq = 0;

/**
 * Runs QEMU's snapshot-save, snapshot-load or snapshot-delete job (QEMU 6.0+) on the given disks
 * (the first holds the RAM) and waits for it to conclude: progress from query-jobs, the error from
 * the concluded job, then job-dismiss. Rejects with QEMU's own message.
 */
export async function runSnapshotJob(qmp: QmpClient, kind: SnapshotJobKind, tag: string, disks: number[], onProgress?: ProgressReporter): Promise<void> {
  const blocks = await qmp.execute('query-block', undefined, { timeoutMs: 10_000 });
  const nodes = nodeNamesFor(blocks, disks);
  const id = `bento-${COMMANDS[kind]}-${process.pid}-${++jobSeq}`;
  let wake: (() => void) | null = null;
  // Subscribed before the job starts: its `concluded` cannot slip by unheard.
  const off = qmp.onEvent((ev) => {
    if (ev.event === 'JOB_STATUS_CHANGE' && ev.data?.id === id && ev.data.status === 'concluded') wake?.();
  });
  try {
    await qmp.execute(COMMANDS[kind], { 'job-id': id, tag, devices: nodes, ...(kind === 'delete' ? {} : { vmstate: nodes[0] }) }, { timeoutMs: SNAPSHOT_JOB_TIMEOUT_MS });
    onProgress?.({ percent: 0 });
    let job: QmpJob | undefined;
    for (;;) {
      const jobs = await qmp.execute<QmpJob[]>('query-jobs', undefined, { timeoutMs: SNAPSHOT_JOB_TIMEOUT_MS });
      job = jobs.find((j) => j.id === id);
      if (!job) throw new BentoError('qmp-error', `QMP ${COMMANDS[kind]} job ${id} vanished`);
      if (job['total-progress'] > 0) onProgress?.({ percent: Math.min(100, Math.round((100 * job['current-progress']) / job['total-progress'])) });
      if (job.status === 'concluded') break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, POLL_MS);
        wake = done;
        function done(): void {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
      });
    }
    await qmp.execute('job-dismiss', { id }, { timeoutMs: 10_000 }).catch(() => undefined);
    if (job.error) throw jobError(kind, job.error);
  } finally {
    off();
  }
}

/** QEMU's message for a failed job; a migration blocker (a mounted 9p share, say) is a refusal of the VM's current setup. */
function jobError(kind: SnapshotJobKind, error: string): BentoError {
  const blocked = /migration is disabled|not migratable|migration blocker|does not support migration/i.test(error);
  return new BentoError(blocked ? 'invalid-state' : 'qmp-error', `QEMU ${COMMANDS[kind]} failed: ${error}`);
}

