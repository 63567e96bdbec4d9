import type { RunningVm, VmCounters } from './drivers/driver.js';
import { processCounters } from './proc-usage.js';
import type { Disposer, StatsReport, VmSample, VmStats, VmStatsNotes } from './types.js';

/** Samples are taken this often while anyone subscribes. */
export const SAMPLE_INTERVAL_MS = 1_000;
/** Samples kept per VM: the last minute at 1 Hz, for sparklines. */
export const HISTORY_SIZE = 60;
/** A one-shot report with the sampler idle takes two readings this far apart. */
export const ONE_SHOT_GAP_MS = 250;
/** A tick publishes what has come in by this fraction of the interval; a VM still in flight is left out. */
const TICK_DEADLINE_FRACTION = 0.8;

/** Where the sampler finds the VMs to sample (the manager's running VMs). */
export interface StatsSource {
  running(): Array<{ name: string; vm: RunningVm }>;
}

/** What a subscriber gets once a tick: the newest sample of every VM that answered, and every VM's notes. */
export interface StatsTick {
  at: string;
  vms: Record<string, VmSample>;
  notes: Record<string, VmStatsNotes>;
}

/** Options (tests shorten the interval). */
export interface SamplerOptions {
  intervalMs?: number;
  historySize?: number;
  oneShotGapMs?: number;
}

interface VmTrack {
  /** The very run the counters belong to: a restarted VM is a new RunningVm, and its counters start again. */
  vm: RunningVm;
  prev: VmCounters | null;
  history: VmSample[];
  notes: VmStatsNotes;
  inFlight: boolean;
}

/** Rounds to one decimal. */
const round1 = (x: number): number => Math.round(x * 10) / 10;

/** A per-second rate of a counter between two readings, or null when either is missing or it went backwards. */
function rate(a: number | null, b: number | null, seconds: number): number | null {
  if (a === null || b === null || seconds <= 0 || b < a) return null;
  return Math.round((b - a) / seconds);
}

/**
 * Turns two readings of one VM into a sample: CPU % is the CPU seconds used over the wall seconds
 * between the two /proc reads (100 = one core); disk and network are byte deltas over the seconds
 * between the two monitor reads; memory is the newer reading's.
 */
export function sampleFrom(prev: VmCounters, cur: VmCounters, at: Date): VmSample {
  const cpuWall = (cur.atMs - prev.atMs) / 1000;
  const ioWall = (cur.ioAtMs - prev.ioAtMs) / 1000;
  const cpu = cur.cpuSeconds !== null && prev.cpuSeconds !== null && cpuWall > 0 ? Math.max(0, (cur.cpuSeconds - prev.cpuSeconds) / cpuWall) * 100 : null;
  return {
    at: at.toISOString(),
    cpuPercent: cpu === null ? null : round1(cpu),
    rssBytes: cur.rssBytes,
    guestMemUsedBytes: cur.guestMemUsedBytes,
    guestMemTotalBytes: cur.guestMemTotalBytes,
    diskReadBps: rate(prev.diskReadBytes, cur.diskReadBytes, ioWall),
    diskWriteBps: rate(prev.diskWriteBytes, cur.diskWriteBytes, ioWall),
    netRxBps: rate(prev.netRxBytes, cur.netRxBytes, ioWall),
    netTxBps: rate(prev.netTxBytes, cur.netTxBytes, ioWall),
  };
}

/** Counters of a backend with no sample(): the process's CPU and RSS from its pid, nothing else. */
export function pidCounters(pid: number | null): VmCounters {
  const none = 'n/a: this backend reports no such figure';
  return processCounters(pid, { guestMem: none, disk: none, net: none });
}

/**
 * Live figures of the running VMs, pushed once a second to subscribers. The timer runs only while
 * someone subscribes; each tick samples every VM concurrently, and a VM whose last reading is still
 * in flight (a stuck monitor) is skipped, so it never holds up the others. Memory is bounded: the last
 * HISTORY_SIZE samples per running VM, dropped when the VM stops.
 */
export class StatsSampler {
  private readonly tracks = new Map<string, VmTrack>();
  private readonly listeners = new Set<(t: StatsTick) => void>();
  private timer: NodeJS.Timeout | null = null;
  private oneShot: Promise<void> | null = null;
  private readonly intervalMs: number;
  private readonly historySize: number;
  private readonly oneShotGapMs: number;
  /** performance.now() of the newest round of readings (-Infinity: none yet). */
  private lastTickAt = -Infinity;

  constructor(
    private readonly source: StatsSource,
    opts: SamplerOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? SAMPLE_INTERVAL_MS;
    this.historySize = opts.historySize ?? HISTORY_SIZE;
    this.oneShotGapMs = opts.oneShotGapMs ?? ONE_SHOT_GAP_MS;
  }

  /** How many subscribers there are (the timer runs while this is above zero). */
  get subscribers(): number {
    return this.listeners.size;
  }

  /** Whether the 1 Hz timer is running. */
  get sampling(): boolean {
    return this.timer !== null;
  }

  /** Receives every tick from now on; the first subscriber starts the timer, the last one to leave stops it. */
  subscribe(listener: (t: StatsTick) => void): Disposer {
    this.listeners.add(listener);
    if (!this.timer) {
      // A first reading now, so the first tick a second later already has rates.
      void this.pass(false);
      this.timer = setInterval(() => void this.pass(true), this.intervalMs);
    }
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size) return;
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
    };
  }

  /**
   * Every running VM's last sample and history. With the sampler idle (or its last tick stale), two
   * fresh readings ONE_SHOT_GAP_MS apart first, so a one-shot caller gets real figures.
   */
  async report(): Promise<StatsReport> {
    const stale = performance.now() - this.lastTickAt > 2 * this.intervalMs;
    if (stale && this.source.running().length) {
      this.oneShot ??= (async () => {
        // Old counters would give a rate over minutes: start the pair afresh.
        if (!this.timer) for (const t of this.tracks.values()) t.prev = null;
        await this.pass(false);
        await new Promise((r) => setTimeout(r, this.oneShotGapMs));
        await this.pass(false);
      })().finally(() => (this.oneShot = null));
      await this.oneShot;
    }
    const vms: Record<string, VmStats> = {};
    for (const { name } of this.source.running()) {
      const t = this.tracks.get(name);
      if (!t) continue;
      vms[name] = { last: t.history.at(-1) ?? null, history: [...t.history], notes: t.notes };
    }
    return { at: new Date().toISOString(), vms };
  }

  /** One round of readings of every running VM; with `publish`, what arrived by the deadline goes to subscribers. */
  private async pass(publish: boolean): Promise<void> {
    const at = new Date();
    const running = this.source.running();
    const names = new Set(running.map((r) => r.name));
    for (const name of this.tracks.keys()) if (!names.has(name)) this.tracks.delete(name);
    const got: Record<string, VmSample> = {};
    const jobs: Promise<void>[] = [];
    for (const { name, vm } of running) {
      let t = this.tracks.get(name);
      if (!t || t.vm !== vm) {
        t = { vm, prev: null, history: [], notes: {}, inFlight: false };
        this.tracks.set(name, t);
      }
      if (t.inFlight) continue;
      jobs.push(this.readOne(t, at, got, name));
    }
    this.lastTickAt = performance.now();
    if (!publish) {
      await Promise.all(jobs);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(jobs), new Promise((r) => (timer = setTimeout(r, this.intervalMs * TICK_DEADLINE_FRACTION)))]);
    clearTimeout(timer);
    const notes: Record<string, VmStatsNotes> = {};
    for (const name of Object.keys(got)) notes[name] = this.tracks.get(name)?.notes ?? {};
    const tick: StatsTick = { at: at.toISOString(), vms: { ...got }, notes };
    for (const l of this.listeners) l(tick);
  }

  private async readOne(t: VmTrack, at: Date, got: Record<string, VmSample>, name: string): Promise<void> {
    t.inFlight = true;
    try {
      const cur = t.vm.sample ? await t.vm.sample() : pidCounters(t.vm.pid);
      t.notes = cur.notes;
      if (t.prev) {
        const s = sampleFrom(t.prev, cur, at);
        t.history.push(s);
        if (t.history.length > this.historySize) t.history.splice(0, t.history.length - this.historySize);
        got[name] = s;
      }
      t.prev = cur;
    } catch {
      // The VM went away mid-reading or its backend failed: no sample this round, a fresh pair next.
      t.prev = null;
    } finally {
      t.inFlight = false;
    }
  }
}
