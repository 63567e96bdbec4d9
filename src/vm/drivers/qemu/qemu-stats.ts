import { processCounters } from '../../proc-usage.js';
import type { VmStatsNotes } from '../../types.js';
import type { VmCounters } from '../driver.js';
import { BALLOON_QOM_PATH } from './argv.js';
import type { QmpClient } from './qmp.js';

/** A stats call that takes longer than this is given up on; the next tick asks again. */
export const SAMPLE_QMP_TIMEOUT_MS = 800;

/**
 * What QEMU 7.2 cannot tell, checked on a real qemu: user-mode networking (slirp) keeps no byte
 * counters, `query-stats` has only KVM providers (empty under TCG), virtio-net exposes none over QOM,
 * and `info network` prints none. The guest's own memory figures come from the virtio balloon (argv.ts),
 * which bento never inflates: only its stats queue is used.
 */
export const QEMU_NOTES: VmStatsNotes = {
  net: 'n/a: QEMU user networking keeps no counters',
};

/** Why the guest-memory figures are missing while the guest's balloon driver has not reported. */
export const GUEST_MEM_UNREPORTED = 'n/a: the guest has not reported (needs the virtio_balloon driver)';

/** How often (seconds) the guest is asked for its memory stats; the 1 Hz sampler sees each report within 2 s. */
export const BALLOON_POLL_SECONDS = 2;

/**
 * The qom-get answer for the balloon's `guest-stats` (the fields bento reads). QEMU sends an unreported
 * stat as its uint64 -1 (18446744073709551615, which JSON.parse rounds to 2^64); absent means the same.
 */
export interface BalloonGuestStats {
  stats?: Record<string, number | undefined>;
  'last-update'?: number;
}

/**
 * The guest's total and used memory from its balloon stats, or null while it has not reported:
 * used = total - available (MemAvailable, what the guest could still hand out); a guest kernel
 * too old to report "available" gives its free memory instead.
 */
export function guestMemory(reply: BalloonGuestStats): { total: number; used: number } | null {
  const s = reply.stats ?? {};
  const known = (v: number | undefined): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const total = s['stat-total-memory'];
  const available = known(s['stat-available-memory']) ? s['stat-available-memory'] : s['stat-free-memory'];
  if (!known(total) || total === 0 || !known(available)) return null;
  return { total, used: Math.max(0, total - available) };
}

/**
 * Asks QEMU to poll the guest's balloon stats (the guest reports nothing until asked). Never throws:
 * a VM whose monitor refuses only goes without the guest's memory figures.
 * @returns null when set, else why not
 */
export async function enableBalloonStats(qmp: QmpClient): Promise<string | null> {
  try {
    await qmp.execute('qom-set', { path: BALLOON_QOM_PATH, property: 'guest-stats-polling-interval', value: BALLOON_POLL_SECONDS }, { timeoutMs: SAMPLE_QMP_TIMEOUT_MS * 4 });
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

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

  /** One reading; each QMP part is bounded by SAMPLE_QMP_TIMEOUT_MS and its failure only nulls its own figures. */
  async read(): Promise<VmCounters> {
    const out = processCounters(this.pid, { ...QEMU_NOTES, guestMem: GUEST_MEM_UNREPORTED });
    const qmp = this.qmp();
    if (!qmp || qmp.closed) {
      out.notes.disk = 'n/a: the QMP monitor is closed';
      out.notes.guestMem = 'n/a: the QMP monitor is closed';
      return out;
    }
    await Promise.all([this.readDisks(qmp, out), this.readGuestMemory(qmp, out)]);
    return out;
  }

  /** query-block(stats) into the disk figures. */
  private async readDisks(qmp: QmpClient, out: VmCounters): Promise<void> {
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
  }

  /** The balloon's guest-stats into the guest-memory figures. */
  private async readGuestMemory(qmp: QmpClient, out: VmCounters): Promise<void> {
    try {
      const reply = await qmp.execute<BalloonGuestStats>('qom-get', { path: BALLOON_QOM_PATH, property: 'guest-stats' }, { timeoutMs: SAMPLE_QMP_TIMEOUT_MS });
      const mem = guestMemory(reply);
      if (!mem) return;
      out.guestMemTotalBytes = mem.total;
      out.guestMemUsedBytes = mem.used;
      delete out.notes.guestMem;
    } catch (err) {
      // A busy monitor: no guest figures this time. A VM started before bento gave every VM a balloon has none.
      if (/not found/i.test(err instanceof Error ? err.message : String(err))) out.notes.guestMem = 'n/a: no balloon device (the VM was started by an older bento)';
    }
  }
}
