import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { boundedSink, statsForClient, type SseTarget } from './sse.js';
import type { StatsEvent, VmSample } from '../vm/types.js';

/** A response whose client never reads until told to: writes only grow the queue. */
class StuckResponse extends EventEmitter implements SseTarget {
  writableLength = 0;
  destroyed = false;
  written: string[] = [];
  write(text: string): boolean {
    this.written.push(text);
    this.writableLength += Buffer.byteLength(text);
    return false;
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** The client reads everything queued. */
  drainAll(): void {
    this.writableLength = 0;
    this.emit('drain');
  }
}

describe('boundedSink', () => {
  it('holds at most the cap for a client that does not read, then sends resync once it drains', () => {
    const res = new StuckResponse();
    const sink = boundedSink(res, 1024, 60_000);
    const ev = `data: ${'x'.repeat(90)}\n\n`;
    for (let i = 0; i < 1000; i++) sink.send(ev);
    expect(res.writableLength).toBeLessThanOrEqual(1024);
    const queued = res.written.length;
    expect(queued).toBe(Math.floor(1024 / Buffer.byteLength(ev)));
    res.drainAll();
    expect(res.written.at(-1)).toBe('event: resync\ndata: {}\n\n');
    sink.send(ev);
    expect(res.written.at(-1)).toBe(ev);
    sink.close();
  });

  it('disconnects a client that stays over the cap', async () => {
    const res = new StuckResponse();
    const sink = boundedSink(res, 100, 20);
    for (let i = 0; i < 10; i++) sink.send('data: 0123456789012345678901234567890123456789\n\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(res.destroyed).toBe(true);
    sink.close();
  });
});

describe('statsForClient', () => {
  it('sends each VM’s notes once, and again after the VM was gone', () => {
    const sent: StatsEvent[] = [];
    const f = statsForClient((ev) => sent.push(ev));
    const s = { cpuPercent: 1 } as VmSample;
    const n = { net: 'n/a' };
    f({ at: 't1', vms: { a: s, b: s }, notes: { a: n, b: n } });
    f({ at: 't2', vms: { a: s, b: s }, notes: { a: n, b: n } });
    f({ at: 't3', vms: { a: s }, notes: { a: n } });
    f({ at: 't4', vms: { a: s, b: s }, notes: { a: n, b: n } });
    expect(sent.map((e) => e.notes)).toEqual([{ a: n, b: n }, undefined, undefined, { b: n }]);
    expect(Object.keys(sent[0]!.vms)).toEqual(['a', 'b']);
  });
});
