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

describe('BentoClient hosts', () => {
  it('lists, adds and removes hosts with the contract paths, and passes host events to onHost', async () => {
    const seen: string[] = [];
    const host = { name: 'lab1', kind: 'libvirt', uri: 'qemu+tcp://127.0.0.1/system', state: 'connecting', reason: null, retryAt: null, since: '2024-01-01T00:00:00.000Z', vms: 0 };
    await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${body}`.trim());
        if (req.url === '/api/events') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write(`event: host\ndata: ${JSON.stringify({ kind: 'changed', host })}\n\n`);
          res.write(`event: host\ndata: ${JSON.stringify({ kind: 'removed', name: 'lab1' })}\n\n`);
          return;
        }
        if (req.method === 'DELETE') return void res.writeHead(204).end();
        res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(req.method === 'POST' ? host : [host]));
      });
    });
    const c = new BentoClient(sock);
    expect(await c.hosts()).toEqual([host]);
    expect(await c.addHost('lab1', host.uri)).toEqual(host);
    await c.removeHost('lab 1');
    expect(seen).toEqual(['GET /api/hosts', `POST /api/hosts {"name":"lab1","uri":"${host.uri}"}`, 'DELETE /api/hosts/lab%201']);
    const events: unknown[] = [];
    const stop = await c.events({ onEvent: () => undefined, onHost: (ev) => events.push(ev) });
    for (let i = 0; i < 100 && events.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    stop();
    expect(events).toEqual([{ kind: 'changed', host }, { kind: 'removed', name: 'lab1' }]);
  });
});
