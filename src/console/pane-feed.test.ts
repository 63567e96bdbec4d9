import xh from '@xterm/headless';
import { describe, expect, it } from 'vitest';
import { createFeed, type FeedStats } from './pane-feed.js';

const { Terminal } = xh;

function stats(): FeedStats {
  return { bytesIn: 0, bytesParsed: 0, maxQueued: 0, chunks: 0, writes: 0, pauses: 0 };
}

describe('createFeed', () => {
  // A pty cannot be made to deliver faster than the terminal parses on demand, so the source here
  // is a stand-in that pushes as long as it is not paused, the way a flooding pty would.
  it('pauses the source when the terminal falls behind and resumes it when drained', async () => {
    const term = new Terminal({ cols: 80, rows: 24, scrollback: 10 });
    const s = stats();
    let paused = false;
    const events: string[] = [];
    const chunk = Buffer.from('y\r\n'.repeat(20_000)); // 60 KB
    const total = 200;
    let sent = 0;
    const source = {
      pause: () => {
        paused = true;
        events.push('pause');
      },
      resume: () => {
        paused = false;
        events.push('resume');
        pump();
      },
    };
    const feed = createFeed(term, source, s);
    function pump(): void {
      while (!paused && sent < total) {
        feed.push(chunk);
        sent++;
      }
    }
    pump();
    await new Promise<void>((resolve) => {
      const wait = (): void => (sent === total ? feed.whenDrained(resolve) : void setTimeout(wait, 5));
      wait();
    });
    expect(s.bytesParsed).toBe(total * chunk.length);
    expect(s.pauses).toBeGreaterThan(1);
    expect(events.filter((e) => e === 'pause')).toHaveLength(events.filter((e) => e === 'resume').length);
    // Never more than the high-water mark plus the chunk that crossed it.
    expect(s.maxQueued).toBeLessThanOrEqual(512 * 1024 + chunk.length);
    term.dispose();
  });

  it('calls whenDrained at once when idle, and resumes a paused source on dispose', () => {
    const term = new Terminal({ cols: 80, rows: 24 });
    let resumed = 0;
    const feed = createFeed(term, { pause: () => {}, resume: () => resumed++ }, stats());
    let called = false;
    feed.whenDrained(() => (called = true));
    expect(called).toBe(true);
    feed.push(Buffer.alloc(600 * 1024, 'x'));
    feed.dispose();
    expect(resumed).toBe(1);
    term.dispose();
  });
});
