import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BentoClient } from './client.js';

let dir: string;
let server: http.Server;
let sock: string;

/** A stand-in bentod on a Unix socket whose handler the test chooses. */
function serve(handler: http.RequestListener): Promise<void> {
  server = http.createServer(handler);
  return new Promise((resolve) => server.listen(sock, resolve));
}

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-client-'));
  sock = path.join(dir, 'bentod.sock');
  fs.writeFileSync(path.join(dir, 'bentod.pid'), '4321\n');
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('BentoClient deadlines', () => {
  it('a request that gets no answer fails after its deadline, naming the pid from bentod.pid', async () => {
    await serve(() => undefined);
    const c = new BentoClient(sock);
    const t0 = Date.now();
    await expect(c.request('/api/vms', { timeoutMs: 300 })).rejects.toMatchObject({ code: 'timeout', message: 'bentod (pid 4321) did not answer in 0.3 s' });
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('a deadline covers the whole reply, not just idle time', async () => {
    // Headers at once, then a byte every 100 ms forever: an idle timer would never fire.
    await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => res.write(' '), 100);
      res.on('close', () => clearInterval(t));
    });
    await expect(new BentoClient(sock).request('/api/vms', { timeoutMs: 500 })).rejects.toMatchObject({ code: 'timeout' });
  });

  it('the event stream reports resync, and ends with a timeout when bentod goes silent', async () => {
    await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': hello\n\n');
      res.write('event: resync\ndata: {}\n\n');
    });
    const c = new BentoClient(sock);
    let resyncs = 0;
    const ended = await new Promise<Error | null>((resolve) => {
      void c.events({ onEvent: () => undefined, onResync: () => resyncs++, onEnd: resolve }, { silenceMs: 300 });
    });
    expect(resyncs).toBe(1);
    expect(ended?.message).toBe('bentod (pid 4321) did not answer in 0.3 s');
  });
});
