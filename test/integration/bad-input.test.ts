import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, client, guest, tempHome, treeSnapshot } from '../helpers/bento.js';

/** Raw HTTP over the Unix socket, so malformed bodies reach bentod exactly as sent. */
function raw(home: string, method: string, url: string, body?: string): Promise<{ status: number; json: { error?: { code: string; message: string; fields?: { field: string; message: string }[] } } }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: path.join(home, 'bentod.sock'), method, path: url, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('bad input changes nothing and says which field broke which rule', () => {
  let home: string;
  let kernel: string;
  beforeAll(async () => {
    home = tempHome();
    kernel = guest().kernel;
    const r = await bento(home, ['create', 'exists', '--kernel', kernel, '--accel', 'tcg']);
    expect(r.exitCode, r.stderr).toBe(0);
  });
  afterAll(() => cleanupHome(home));

  const cases: [string, () => string[], RegExp][] = [
    ['../x', () => ['create', '../x', '--kernel', kernel], /name must be letters and digits/],
    ['a/b', () => ['create', 'a/b', '--kernel', kernel], /name must be letters and digits/],
    ['an empty name', () => ['create', '', '--kernel', kernel], /name must not be empty/],
    ['a 64-character name', () => ['create', 'a'.repeat(64), '--kernel', kernel], /name must be at most 63 characters/],
    ['--memory 0', () => ['create', 'm0', '--kernel', kernel, '--memory', '0'], /memory must be from 64M/],
    ['--memory 1.5.G', () => ['create', 'm1', '--kernel', kernel, '--memory', '1.5.G'], /memory must be a whole number of MiB or a size like 512M/],
    ['--cpus 0', () => ['create', 'c0', '--kernel', kernel, '--cpus', '0'], /cpus must be a whole number of at least 1/],
    ['a kernel that does not exist', () => ['create', 'k1', '--kernel', '/nonexistent/vmlinuz'], /kernel does not exist: \/nonexistent\/vmlinuz/],
    ['a relative kernel path', () => ['create', 'k2', '--kernel', 'vmlinuz'], /kernel must be an absolute path/],
    ['a name that exists', () => ['create', 'exists', '--kernel', kernel], /a VM named "exists" already exists/],
    ['stopping a VM that is not running', () => ['stop', 'exists'], /exists is not running/],
    ['pausing a VM that is not running', () => ['pause', 'exists'], /only a running VM can be paused \(exists is stopped\)/],
    ['a VM that does not exist', () => ['start', 'ghost'], /no VM named "ghost"/],
  ];

  it.each(cases)('%s', async (_label, args, message) => {
    const before = treeSnapshot(path.join(home, 'vms'));
    const r = await bento(home, args());
    expect(r.exitCode).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^bento: /);
    expect(lines[0]).toMatch(message);
    expect(treeSnapshot(path.join(home, 'vms'))).toEqual(before);
  });

  it('a kernel command line over COMMAND_LINE_SIZE is refused at create', async () => {
    const before = treeSnapshot(path.join(home, 'vms'));
    const c = await bento(home, ['create', 'longcmd', '--kernel', kernel, '--cmdline', 'a'.repeat(2048)]);
    expect(c.exitCode).not.toBe(0);
    expect(c.stderr).toMatch(/cmdline must be at most 2047 bytes/);
    expect(treeSnapshot(path.join(home, 'vms'))).toEqual(before);
  });

  it('a name too long for this home\'s socket paths is refused with the length it may have', async () => {
    const long = fs.mkdtempSync(`/tmp/bt-${'h'.repeat(50)}-`);
    try {
      const max = 103 - Buffer.byteLength(path.join(long, 'vms')) - 2 - 'console.sock'.length;
      const r = await bento(long, ['create', 'v'.repeat(max + 1), '--kernel', kernel]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain(`name must be at most ${max} characters here`);
      const ok = await bento(long, ['create', 'v'.repeat(max), '--kernel', kernel]);
      expect(ok.exitCode, ok.stderr).toBe(0);
    } finally {
      await cleanupHome(long);
    }
  });

  it('a malformed percent-encoding in any path segment is a 400, not a 500', async () => {
    for (const [method, url] of [
      ['GET', '/api/vms/%E0%A4%A'],
      ['GET', '/api/vms/%E0%A4%A/inspect'],
      ['GET', '/api/vms/%E0%A4%A/log'],
      ['PATCH', '/api/vms/%E0%A4%A'],
      ['DELETE', '/api/vms/%E0%A4%A'],
      ['POST', '/api/vms/%E0%A4%A/start'],
      ['POST', '/api/vms/%ff/stop'],
    ] as const) {
      const r = await raw(home, method, url, method === 'GET' || method === 'DELETE' ? undefined : '{}');
      expect(r.status, `${method} ${url}`).toBe(400);
      expect(r.json.error?.code).toBe('invalid-input');
    }
    // The console is a WebSocket upgrade, decoded on its own path.
    const { WebSocket } = await import('ws');
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws+unix://${path.join(home, 'bentod.sock')}:/api/vms/%E0%A4%A/console`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('the console opened')));
      ws.on('error', reject);
    });
    expect(status).toBe(400);
  });

  it('a malformed JSON body is a 400 invalid-json', async () => {
    const before = treeSnapshot(path.join(home, 'vms'));
    const r = await raw(home, 'POST', '/api/vms', '{"name": "x", ');
    expect(r.status).toBe(400);
    expect(r.json.error?.code).toBe('invalid-json');
    expect(treeSnapshot(path.join(home, 'vms'))).toEqual(before);
  });

  it('an unknown field is a 400 naming the field', async () => {
    const before = treeSnapshot(path.join(home, 'vms'));
    const r = await raw(home, 'POST', '/api/vms', JSON.stringify({ name: 'u1', kernel, colour: 'blue' }));
    expect(r.status).toBe(400);
    expect(r.json.error?.code).toBe('invalid-input');
    expect(r.json.error?.fields).toEqual([{ field: 'colour', message: 'is not a known field' }]);
    const s = await raw(home, 'POST', '/api/vms/exists/stop', JSON.stringify({ forse: true }));
    expect(s.status).toBe(400);
    expect(s.json.error?.fields?.[0]?.field).toBe('forse');
    expect(treeSnapshot(path.join(home, 'vms'))).toEqual(before);
  });

  it('every field error of one request comes back together', async () => {
    const r = await raw(home, 'POST', '/api/vms', JSON.stringify({ name: '../x', memory: '0', cpus: 0, kernel: 'rel' }));
    expect(r.status).toBe(400);
    expect(r.json.error?.fields?.map((f) => f.field).sort()).toEqual(['cpus', 'kernel', 'memory', 'name']);
  });

  it('non-object bodies, wrong types and huge bodies are refused cleanly; bentod keeps serving', async () => {
    for (const body of ['[]', 'null', '42', '"x"', JSON.stringify({ name: 42 }), JSON.stringify({ name: 'ok', cpus: '2' })]) {
      const r = await raw(home, 'POST', '/api/vms', body);
      expect(r.status, body).toBe(400);
    }
    const big = await raw(home, 'POST', '/api/vms', JSON.stringify({ name: 'x', cmdline: 'a'.repeat(2 * 1024 * 1024) })).catch(() => ({ status: 400, json: {} }));
    expect(big.status).toBe(400);
    expect((await raw(home, 'GET', '/api/nope')).status).toBe(404);
    expect((await raw(home, 'PUT', '/api/vms')).status).toBe(400);
    expect((await client(home).list()).map((v) => v.name)).toEqual(['exists']);
  });
});
