import { describe, expect, it } from 'vitest';
import type { RunningVm, VmCounters } from './drivers/driver.js';
import { sampleFrom, StatsSampler, type StatsTick } from './stats.js';

function counters(over: Partial<VmCounters> = {}): VmCounters {
  return {
    atMs: 0,
    cpuSeconds: 0,
    rssBytes: 100 << 20,
    ioAtMs: 0,
    diskReadBytes: 0,
    diskWriteBytes: 0,
    netRxBytes: null,
    netTxBytes: null,
    guestMemUsedBytes: null,
    guestMemTotalBytes: null,
    notes: { net: 'n/a: none' },
    ...over,
  };
}

/** A VM whose counters come from a function (called once per reading). */
function fakeVm(read: () => Promise<VmCounters>): RunningVm {
  return { pid: 1, sample: read } as unknown as RunningVm;
}

describe('sampleFrom', () => {
  it('turns CPU seconds over wall seconds into percent of one core', () => {
    const s = sampleFrom(counters({ atMs: 1000, cpuSeconds: 10 }), counters({ atMs: 2000, cpuSeconds: 10.95 }), new Date(0));
    expect(s.cpuPercent).toBe(95);
    const two = sampleFrom(counters({ atMs: 0, cpuSeconds: 0 }), counters({ atMs: 500, cpuSeconds: 0.9 }), new Date(0));
    expect(two.cpuPercent).toBe(180); // two cores busy
  });

  it('gives disk rates over the monitor readings’ own interval and keeps memory of the newer reading', () => {
    const s = sampleFrom(
      counters({ ioAtMs: 100, diskReadBytes: 1000, diskWriteBytes: 5 << 20 }),
      counters({ ioAtMs: 600, diskReadBytes: 1500, diskWriteBytes: 10 << 20, rssBytes: 7 }),
      new Date(0),
    );
    expect(s.diskReadBps).toBe(1000);
    expect(s.diskWriteBps).toBe(10 << 20);
    expect(s.rssBytes).toBe(7);
    expect(s.netRxBps).toBeNull();
  });

  it('never reports a rate from a counter that went backwards or is missing', () => {
    const s = sampleFrom(counters({ atMs: 0, ioAtMs: 0, diskWriteBytes: 500, cpuSeconds: null }), counters({ atMs: 1000, ioAtMs: 1000, diskWriteBytes: 10 }), new Date(0));
    expect(s.diskWriteBps).toBeNull();
    expect(s.cpuPercent).toBeNull();
  });
});

describe('StatsSampler', () => {
  it('samples only while someone subscribes, one event per tick for all VMs', async () => {
    let reads = 0;
    let cpu = 0;
    const vm = fakeVm(async () => {
      reads++;
      cpu += 0.01;
      return counters({ atMs: performance.now(), cpuSeconds: cpu });
    });
    const other = fakeVm(async () => counters({ atMs: performance.now() }));
    const s = new StatsSampler({ running: () => [{ name: 'a', vm }, { name: 'b', vm: other }] }, { intervalMs: 40 });
    expect(s.sampling).toBe(false);
    const ticks: StatsTick[] = [];
    const off = s.subscribe((t) => ticks.push(t));
    const off2 = s.subscribe(() => undefined);
    expect(s.sampling).toBe(true);
    await new Promise((r) => setTimeout(r, 230));
    off();
    expect(s.sampling).toBe(true); // one subscriber is left
    off2();
    expect(s.sampling).toBe(false);
    const readsAtStop = reads;
    await new Promise((r) => setTimeout(r, 150));
    expect(reads).toBe(readsAtStop);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(Object.keys(ticks.at(-1)!.vms).sort()).toEqual(['a', 'b']);
    expect(ticks.at(-1)!.vms.a!.cpuPercent).toBeGreaterThan(0);
    expect(ticks.at(-1)!.notes.a).toEqual({ net: 'n/a: none' });
  });

  it('a stuck VM is left out of ticks and never delays the others', async () => {
    let stuckCalls = 0;
    const stuck = fakeVm(() => {
      stuckCalls++;
      return new Promise<VmCounters>(() => undefined);
    });
    const ok = fakeVm(async () => counters({ atMs: performance.now() }));
    const s = new StatsSampler({ running: () => [{ name: 'stuck', vm: stuck }, { name: 'ok', vm: ok }] }, { intervalMs: 50 });
    const ticks: Array<{ t: StatsTick; ms: number }> = [];
    const t0 = performance.now();
    const off = s.subscribe((t) => ticks.push({ t, ms: performance.now() - t0 }));
    await new Promise((r) => setTimeout(r, 330));
    off();
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    for (const { t } of ticks) expect(Object.keys(t.vms)).toEqual(['ok']);
    // Each tick is out by its deadline (0.8 of the interval) despite the stuck one.
    ticks.forEach(({ ms }, i) => expect(ms).toBeLessThan((i + 1) * 50 + 40 + 30));
    expect(stuckCalls).toBe(1); // never asked again while its reading is in flight
  });

  it('keeps a bounded history and forgets VMs that stopped or restarted', async () => {
    let list: Array<{ name: string; vm: RunningVm }> = [];
    const mk = (): RunningVm => fakeVm(async () => counters({ atMs: performance.now() }));
    const first = mk();
    list = [{ name: 'a', vm: first }];
    const s = new StatsSampler({ running: () => list }, { intervalMs: 20, historySize: 5 });
    const off = s.subscribe(() => undefined);
    await new Promise((r) => setTimeout(r, 250));
    let rep = await s.report();
    expect(rep.vms.a!.history.length).toBe(5);
    list = [{ name: 'a', vm: mk() }]; // a new run of the same VM starts a new history
    await new Promise((r) => setTimeout(r, 50));
    rep = await s.report();
    expect(rep.vms.a!.history.length).toBeLessThan(5);
    list = [];
    await new Promise((r) => setTimeout(r, 50));
    off();
    rep = await s.report();
    expect(rep.vms).toEqual({});
  });

  it('a one-shot report with nobody subscribed takes a fresh pair of readings', async () => {
    let reads = 0;
    const vm = fakeVm(async () => {
      reads++;
      return counters({ atMs: performance.now(), cpuSeconds: reads * 0.1 });
    });
    const s = new StatsSampler({ running: () => [{ name: 'a', vm }] }, { oneShotGapMs: 100 });
    const t0 = performance.now();
    const rep = await s.report();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
    expect(reads).toBe(2);
    expect(rep.vms.a!.last!.cpuPercent).toBeGreaterThan(50); // 0.1 s of CPU over ~0.1 s
    expect(s.sampling).toBe(false);
  });
});
