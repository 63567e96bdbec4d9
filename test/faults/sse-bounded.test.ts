import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, client, daemonPid, guest, tempHome, waitFor } from '../helpers/bento.js';

const SUBSCRIBERS = Number(process.env.SSE_SUBS ?? 20);
const PATCHES = 3000;
/** The bound this test holds bentod to (the report that found the leak saw 602 MB). */
const RSS_LIMIT_MB = 150;

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Math.round(kb / 1024);
}

/** Opens /api/events and never reads: the socket is paused from the first byte. */
function hostileSubscriber(sock: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(sock, () => {
      s.write('GET /api/events HTTP/1.1\r\nhost: bentod\r\n\r\n');
      s.pause();
      resolve(s);
    });
    s.once('error', reject);
  });
}

describe('every /api/events client has a bounded queue in bentod', () => {
  let home: string;
  const subs: net.Socket[] = [];
  beforeAll(() => {
    home = tempHome();
  });
  afterAll(async () => {
    for (const s of subs) s.destroy();
    await cleanupHome(home);
  });

  it(`${SUBSCRIBERS} subscribers that never read + ${PATCHES} PATCHes keep bentod under ${RSS_LIMIT_MB} MB; a reader that catches up gets resync`, async () => {
    const { kernel } = guest();
    // A long command line makes every `changed` event about 2.5 KB.
    const r = await bento(home, ['create', 'p', '--kernel', kernel, '--accel', 'tcg', '--cmdline', `console=ttyS0 ${'x'.repeat(2000)}`]);
    expect(r.exitCode, r.stderr).toBe(0);
    const pid = daemonPid(home)!;
    const sock = path.join(home, 'bentod.sock');
    const c = client(home);
    const before = rssMiB(pid);
    for (let i = 0; i < SUBSCRIBERS; i++) subs.push(await hostileSubscriber(sock));
    let peak = before;
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < PATCHES) {
          const i = next++;
          await c.patch('p', { cpus: (i % 2) + 1 });
          if (i % 250 === 0) peak = Math.max(peak, rssMiB(pid));
        }
      }),
    );
    const after = rssMiB(pid);
    peak = Math.max(peak, after);
    console.log(`bentod RSS: ${before} MiB before, ${after} MiB after ${PATCHES} PATCHes with ${SUBSCRIBERS} non-reading subscribers (peak ${peak} MiB)`);
    expect(peak).toBeLessThan(RSS_LIMIT_MB);

    // One hostile client starts reading: it drains and is told to resync.
    const reader = subs[0]!;
    let text = '';
    reader.setEncoding('latin1');
    reader.on('data', (d: string) => (text = (text + d).slice(-100_000)));
    reader.resume();
    await waitFor('a resync event', () => text.includes('event: resync\n'), 20_000);
    expect((await c.list()).map((v) => v.name)).toEqual(['p']);
  });
});
