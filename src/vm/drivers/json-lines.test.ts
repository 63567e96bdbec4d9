import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BentoError } from '../errors.js';
import { EventHub, JsonLinesChannel, LineFramer, type ChannelCloseInfo, type JsonLinesOptions } from './json-lines.js';

let dir: string;
let server: net.Server | null;
let peer: net.Socket | null;
let channel: JsonLinesChannel | null;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jl-'));
  server = null;
  peer = null;
  channel = null;
});

afterEach(async () => {
  channel?.close();
  peer?.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Harness {
  ch: JsonLinesChannel;
  /** Requests the peer received, parsed. */
  received: Record<string, unknown>[];
  /** Non-reply messages the channel handed on. */
  messages: { msg: unknown; line: string }[];
  /** Writes raw text to the channel. */
  send(text: string): void;
  /** Resolves once the peer has received n requests. */
  requests(n: number): Promise<Record<string, unknown>[]>;
}

/** A channel connected to a raw peer; replies are `{re: id, value}` or `{re: id, fail: text}`. */
async function connect(over: Partial<JsonLinesOptions> = {}): Promise<Harness> {
  const sock = path.join(dir, 'c.sock');
  const received: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  const accepted = new Promise<net.Socket>((resolve) => {
    server = net.createServer((s) => {
      let buf = '';
      s.setEncoding('utf8');
      s.on('data', (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          received.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
          buf = buf.slice(nl + 1);
          for (const w of waiters.splice(0)) w();
        }
      });
      s.on('error', () => undefined);
      resolve(s);
    });
    server.listen(sock);
  });
  await new Promise<void>((r) => server!.once('listening', () => r()));
  const messages: { msg: unknown; line: string }[] = [];
  const ch = (channel = new JsonLinesChannel(net.connect(sock), {
    label: 'test peer',
    maxLine: 1024,
    defaultTimeoutMs: 2_000,
    makeId: (n) => `r${n}`,
    matchReply: (m) => (m.re === undefined ? null : 'fail' in m ? { id: m.re as string, error: (r) => new BentoError('internal', `${r}: ${String(m.fail)}`) } : { id: m.re as string, result: m.value }),
    onMessage: (msg, line) => messages.push({ msg, line }),
    ...over,
  }));
  peer = await accepted;
  const requests = async (n: number): Promise<Record<string, unknown>[]> => {
    while (received.length < n) await new Promise<void>((r) => waiters.push(r));
    return received;
  };
  return { ch, received, messages, send: (text) => void peer!.write(text), requests };
}

async function rejection(p: Promise<unknown>): Promise<BentoError> {
  const err: unknown = await p.then(() => new Error('expected a rejection'), (e: unknown) => e);
  expect(err).toBeInstanceOf(BentoError);
  return err as BentoError;
}

describe('JsonLinesChannel', () => {
  it('sends {...body, id} and matches replies that come out of order', async () => {
    const h = await connect();
    const a = h.ch.request('a', { op: 'a' });
    const b = h.ch.request('b', { op: 'b', arg: 1 });
    const c = h.ch.request('c', { op: 'c' });
    const reqs = await h.requests(3);
    expect(reqs).toEqual([{ op: 'a', id: 'r1' }, { op: 'b', arg: 1, id: 'r2' }, { op: 'c', id: 'r3' }]);
    const order: string[] = [];
    for (const p of [a, b, c]) void p.then((v) => order.push(String(v)), () => order.push('rejected'));
    h.send(JSON.stringify({ re: 'r3', value: 'C' }) + '\n' + JSON.stringify({ re: 'r1', value: 'A' }) + '\n');
    h.send(JSON.stringify({ re: 'r2', fail: 'no' }) + '\n');
    await expect(a).resolves.toBe('A');
    await expect(c).resolves.toBe('C');
    expect((await rejection(b)).message).toBe('b: no');
    expect(order).toEqual(['C', 'A', 'rejected']);
    expect(h.ch.pendingCount).toBe(0);
  });

  it('gives every request the default timeout, and drops the late reply', async () => {
    const h = await connect({ defaultTimeoutMs: 50 });
    const t0 = Date.now();
    const err = await rejection(h.ch.request('slow', { op: 'slow' }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
    expect(err.code).toBe('timeout');
    expect(err.message).toBe('test peer: no reply to slow within 50 ms');
    expect(h.ch.pendingCount).toBe(0);
    const next = h.ch.request('next', {}, { timeoutMs: 1_000 });
    await h.requests(2);
    h.send(JSON.stringify({ re: 'r1', value: 'late' }) + '\n' + JSON.stringify({ re: 'r2', value: 'ok' }) + '\n');
    await expect(next).resolves.toBe('ok');
    // The late reply matched nothing and is not an event either.
    expect(h.messages).toEqual([]);
  });

  it('rejects every pending request when the socket closes, tells close listeners once, and refuses new requests', async () => {
    const h = await connect();
    const closes: ChannelCloseInfo[] = [];
    h.ch.onClose((i) => closes.push(i));
    const pending = [h.ch.request('one', {}), h.ch.request('two', {}, { timeoutMs: 0 })];
    await h.requests(2);
    peer!.end();
    const errs = await Promise.all(pending.map(rejection));
    expect(errs.map((e) => [e.code, e.message])).toEqual([
      ['io-error', 'test peer closed before one replied'],
      ['io-error', 'test peer closed before two replied'],
    ]);
    expect(h.ch.closed).toBe(true);
    h.ch.close();
    expect(closes).toEqual([{}]);
    expect((await rejection(h.ch.request('three', {}))).message).toBe('test peer is closed; cannot send three');
    await expect(new Promise((r) => h.ch.onClose(r))).resolves.toEqual({});
  });

  it('closes with an error on a complete line over the limit, before handing it on', async () => {
    const h = await connect();
    const info = new Promise<ChannelCloseInfo>((r) => h.ch.onClose(r));
    const p = rejection(h.ch.request('x', {}));
    h.send(JSON.stringify({ event: 'small' }) + '\n' + JSON.stringify({ pad: 'y'.repeat(2_000) }) + '\n' + JSON.stringify({ event: 'after' }) + '\n');
    expect((await info).error?.message).toBe('test peer: a line longer than 1024 characters; dropping the connection');
    expect((await p).message).toMatch(/closed before x replied: test peer: a line longer/);
    expect(h.messages.map((m) => m.msg)).toEqual([{ event: 'small' }]);
  });

  it('closes with an error when an unfinished line outgrows the limit', async () => {
    const h = await connect();
    const info = new Promise<ChannelCloseInfo>((r) => h.ch.onClose(r));
    for (let i = 0; i < 5; i++) h.send('x'.repeat(300));
    expect((await info).error).toBeInstanceOf(BentoError);
    expect(h.messages).toEqual([]);
  });

  it('hands unsolicited and unparsable lines to onMessage, skipping blank ones', async () => {
    const h = await connect();
    h.send('{"event":"A"}\r\n\n  \n}{ nope\n[1]\n{"re":"nobody","value":1}\n');
    await expect.poll(() => h.messages.length).toBe(3);
    expect(h.messages).toEqual([
      { msg: { event: 'A' }, line: '{"event":"A"}' },
      { msg: undefined, line: '}{ nope' },
      { msg: [1], line: '[1]' },
    ]);
  });

  it('says why the link failed when the socket errors', async () => {
    const closed = new Promise<ChannelCloseInfo>((resolve) => {
      const ch = (channel = new JsonLinesChannel(net.connect(path.join(dir, 'missing.sock')), {
        label: 'nobody',
        maxLine: 10,
        defaultTimeoutMs: 100,
        makeId: (n) => n,
        matchReply: () => null,
        onMessage: () => undefined,
      }));
      ch.onClose(resolve);
    });
    expect((await closed).error?.message).toMatch(/ENOENT/);
  });
});

describe('LineFramer', () => {
  it('keeps a multi-byte character split across Buffer chunks', () => {
    const lines: string[] = [];
    const f = new LineFramer(100, (l) => lines.push(l), () => lines.push('OVERFLOW'));
    const bytes = Buffer.from('héllo\nwörld\n');
    for (let i = 0; i < bytes.length; i++) f.push(bytes.subarray(i, i + 1));
    expect(lines).toEqual(['héllo', 'wörld']);
  });

  it('reports an overflow once and ignores what follows', () => {
    const lines: string[] = [];
    const f = new LineFramer(4, (l) => lines.push(l), () => lines.push('OVERFLOW'));
    f.push('ok\nlonger than four\nmore\n');
    f.push('again\n');
    expect(lines).toEqual(['ok', 'OVERFLOW']);
  });
});

describe('EventHub', () => {
  it('holds events until the first listener, then delivers them in order on the next turn', async () => {
    const hub = new EventHub<number>(2);
    hub.emit(1);
    hub.emit(2);
    hub.emit(3);
    const got: number[] = [];
    hub.on((n) => got.push(n));
    hub.emit(4);
    expect(got).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(got).toEqual([3, 4]);
    hub.emit(5);
    expect(got).toEqual([3, 4, 5]);
  });
});
