import { processCounters } from '../../proc-usage.js';
import type { VmStatsNotes } from '../../types.js';
import type { VmCounters } from '../driver.js';
import type { QmpClient } from './qmp.js';

/** A stats call that takes longer than this is given up on; the next tick asks again. */
export const SAMPLE_QMP_TIMEOUT_MS = 800;

/**
 * What QEMU 7.2 cannot tell, checked on a real qemu: user-mode networking (slirp) keeps no byte
 * counters, `query-stats` has only KVM providers (empty under TCG), virtio-net exposes none over QOM,
 * and `info network` prints none. bento gives its VMs no balloon device (see DESIGN note in stats.ts).
 */
export const QEMU_NOTES: VmStatsNotes = {
  net: 'n/a: QEMU user networking keeps no counters',
  guestMem: 'n/a: no balloon device (bento gives QEMU guests none)',
};

/** One device of query-blockstats (the fields bento reads). */
export interface BlockStatsEntry {
  device?: string;
  qdev?: string;
  stats: { rd_bytes: number; wr_bytes: number };
}

/** One device of query-block (the fields bento reads). */
export interface BlockInfoEntry {
  device: string;
  inserted?: { ro: boolean };
}

/** The devices (drive ids) that hold a writable medium: a read-only disk, CD or seed is not the VM's disk traffic. */
export function writableDevices(block: BlockInfoEntry[]): Set<string> {
  return new Set(block.filter((b) => b.inserted && !b.inserted.ro).map((b) => b.device));
}

/** Read and written bytes summed over the writable devices. */
export function blockTotals(stats: BlockStatsEntry[], writable: Set<string>): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const s of stats) {
    if (!s.device || !writable.has(s.device)) continue;
    read += s.stats.rd_bytes;
    write += s.stats.wr_bytes;
  }
  return { read, write };
}

/** Reads a QEMU VM's counters: /proc for qemu's CPU and RSS, QMP query-blockstats for its disks. */
export class QemuCounters {
  /** Learnt once (a running VM's drives do not change medium read-only-ness). */
  private writable: Set<string> | null = null;

  constructor(
    private readonly pid: number,
    private readonly qmp: () => QmpClient | null,
  ) {}

  /** One reading; the QMP part is bounded by SAMPLE_QMP_TIMEOUT_MS and its failure only nulls the disk figures. */
  async read(): Promise<VmCounters> {
    const out = processCounters(this.pid, { ...QEMU_NOTES });
    const qmp = this.qmp();
    if (!qmp || qmp.closed) {
      out.notes.disk = 'n/a: the QMP monitor is closed';
      return out;
    }
    try {
      const opts = { timeoutMs: SAMPLE_QMP_TIMEOUT_MS };
      this.writable ??= writableDevices(await qmp.execute<BlockInfoEntry[]>('query-block', undefined, opts));
      const totals = blockTotals(await qmp.execute<BlockStatsEntry[]>('query-blockstats', undefined, opts), this.writable);
      out.ioAtMs = performance.now();
      out.diskReadBytes = totals.read;
      out.diskWriteBytes = totals.write;
    } catch {
      // A busy or stuck monitor: this reading has no disk figures; the next one tries again.
    }
    return out;
  }
}
