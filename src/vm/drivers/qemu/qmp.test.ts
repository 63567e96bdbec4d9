import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CAPABILITIES, startFakeQmp, type FakeQmp, type FakeScript } from '../../../../test/helpers/fake-qmp.js';
import { BentoError } from '../../errors.js';
import { connectQmp, QMP_MAX_LINE, type QmpClient, type QmpEvent } from './qmp.js';

let dir: string;
let sock: string;
let fake: FakeQmp | null;
let client: QmpClient | null;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmp-'));
  sock = path.join(dir, 'q.sock');
  fake = null;
  client = null;
});

afterEach(async () => {
  // Every test must have followed its script; tests that break it on purpose empty the list.
  expect(fake?.failures ?? []).toEqual([]);
  client?.close();
  await fake?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(script: FakeScript, onProtocolError?: (line: string, reason: string) => void): Promise<QmpClient> {
  fake = await startFakeQmp(sock, script);
  client = await connectQmp(sock, { timeoutMs: 2_000, onProtocolError });
  return client;
}

/** Resolves with the BentoError p rejects with, failing if it fulfils or rejects with something else. */
async function rejection(p: Promise<unknown>): Promise<BentoError> {
  const err: unknown = await p.then(() => new Error('expected a rejection'), (e: unknown) => e);
  expect(err).toBeInstanceOf(BentoError);
  return err as BentoError;
}

describe('connectQmp', () => {
  it.each([1, 7])('reads a greeting sent in %i piece(s) and negotiates capabilities', async (greetingChunks) => {
    const qmp = await start({ steps: [CAPABILITIES], greetingChunks });
    expect(qmp.greeting.version?.qemu).toEqual({ major: 7, minor: 2, micro: 22 });
    expect(qmp.greeting.capabilities).toEqual(['oob']);
    expect(qmp.closed).toBe(false);
    expect(fake?.received.map((c) => c.execute)).toEqual(['qmp_capabilities']);
  });

  it('fails with io-error when the socket is missing', async () => {
    const err = await rejection(connectQmp(path.join(dir, 'missing.sock')));
    expect(err.code).toBe('io-error');
    expect(err.message).toMatch(/^failed to connect to QMP socket .*missing\.sock: .*ENOENT/);
  });

  it('fails with io-error when nobody listens on the socket', async () => {
    // A socket file whose server is gone refuses connections.
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    const dead = path.join(dir, 'dead.sock');
    fs.renameSync(sock, dead);
    await new Promise<void>((r) => server.close(() => r()));
    const err = await rejection(connectQmp(dead));
    expect(err.code).toBe('io-error');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it.each<[string, FakeScript]>([
    ['no greeting comes', { steps: [], noGreeting: true }],
    ['qmp_capabilities gets no reply', { steps: [{ expect: 'qmp_capabilities', noReply: true }] }],
  ])('times out, within one budget, when %s', async (_, script) => {
    fake = await startFakeQmp(sock, script);
    const t0 = Date.now();
    const err = await rejection(connectQmp(sock, { timeoutMs: 150 }));
    expect(err.code).toBe('io-error');
    expect(err.message).toMatch(/no QMP handshake within 150 ms/);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it.each(['SSH-2.0-OpenSSH_9.2\r\n', '{"return": {}}\n', '{"QMP": 1}\n'])('rejects the garbage greeting %j at once', async (raw) => {
    fake = await startFakeQmp(sock, { steps: [], rawGreeting: raw });
    const err = await rejection(connectQmp(sock, { timeoutMs: 5_000 }));
    expect(err.code).toBe('io-error');
    expect(err.message).toContain(`not a QMP greeting: ${JSON.stringify(raw.trim())}`);
  });

  it('fails when qmp_capabilities is refused', async () => {
    fake = await startFakeQmp(sock, { steps: [{ expect: 'qmp_capabilities', error: { class: 'GenericError', desc: 'nope' } }] });
    const err = await rejection(connectQmp(sock));
    expect(err.code).toBe('io-error');
    expect(err.message).toMatch(/QMP qmp_capabilities failed: nope \(GenericError\)/);
  });

  it('fails when the socket closes before the greeting', async () => {
    fake = await startFakeQmp(sock, { steps: [], noGreeting: true });
    const p = connectQmp(sock, { timeoutMs: 5_000 });
    setTimeout(() => fake?.drop(), 30);
    const err = await rejection(p);
    expect(err.message).toMatch(/closed before the greeting/);
  });
});

describe('QmpClient.execute', () => {
  it('sends execute, arguments and a unique id, and resolves with return', async () => {
    const qmp = await start({
      steps: [CAPABILITIES, { expect: 'query-status', return: { status: 'running', running: true } }, { expect: 'device_del', args: { id: 'd0' } }],
    });
    await expect(qmp.execute('query-status')).resolves.toEqual({ status: 'running', running: true });
    await expect(qmp.execute('device_del', { id: 'd0' })).resolves.toEqual({});
    const ids = fake?.received.map((c) => c.id);
    expect(new Set(ids).size).toBe(3);
    expect(fake?.received[1]).not.toHaveProperty('arguments');
    expect(fake?.received[2]?.arguments).toEqual({ id: 'd0' });
  });

  it('matches replies by id when they come out of order', async () => {
    const hold = true;
    const qmp = await start({ steps: [CAPABILITIES, { expect: 'first', return: 1, hold }, { expect: 'second', return: 2, hold }, { expect: 'third', return: 3 }] });
    const order: string[] = [];
    const run = (name: string): Promise<unknown> => qmp.execute(name).then((v) => (order.push(name), v));
    await expect(Promise.all([run('first'), run('second'), run('third')])).resolves.toEqual([1, 2, 3]);
    expect(order).toEqual(['third', 'first', 'second']);
  });

  it('rejects an error reply with qmp-error and keeps working', async () => {
    const error = { class: 'GenericError', desc: 'Resetting the Virtual Machine is required' };
    const qmp = await start({ steps: [CAPABILITIES, { expect: 'cont', error }, { expect: 'stop' }] });
    const err = await rejection(qmp.execute('cont'));
    expect(err.code).toBe('qmp-error');
    expect(err.message).toBe('QMP cont failed: Resetting the Virtual Machine is required (GenericError)');
    await expect(qmp.execute('stop')).resolves.toEqual({});
  });

  it('reassembles a reply split across chunks', async () => {
    const big = { blob: 'x'.repeat(100_000) };
    const qmp = await start({ steps: [CAPABILITIES, { expect: 'query-block', return: big, splitReply: 9 }] });
    await expect(qmp.execute('query-block')).resolves.toEqual(big);
  });

  it('handles several messages in one chunk, events included', async () => {
    const stopResume = [{ event: 'STOP' }, { event: 'RESUME' }];
    const qmp = await start({ steps: [CAPABILITIES, { expect: 'a', return: 'A', hold: true }, { expect: 'b', return: 'B', oneChunk: true, eventsFirst: true, events: stopResume }] });
    const events: string[] = [];
    qmp.onEvent((ev) => events.push(ev.event));
    await expect(Promise.all([qmp.execute('a'), qmp.execute('b')])).resolves.toEqual(['A', 'B']);
    expect(events).toEqual(['STOP', 'RESUME']);
  });

  it('ignores lines that are not QMP and reports them', async () => {
    const bad: string[] = [];
    const garbage = ['}{ nonsense', '[1,2]', '{"hello": 1}', '{"error": {"class": "GenericError", "desc": "JSON parse error"}}'];
    const qmp = await start({ steps: [CAPABILITIES, { expect: 'query-status', return: 'ok', garbage }] }, (line, why) => bad.push(`${why}: ${line}`));
    await expect(qmp.execute('query-status')).resolves.toBe('ok');
    expect(bad).toEqual([
      'not a JSON object: }{ nonsense',
      'not a JSON object: [1,2]',
      'neither a reply nor an event: {"hello": 1}',
      'reply without an id: {"error": {"class": "GenericError", "desc": "JSON parse error"}}',
    ]);
    expect(qmp.closed).toBe(false);
  });

  it('times out with a timeout error and ignores the late reply', async () => {
    const qmp = await start({ steps: [CAPABILITIES, { expect: 'slow', return: 'late', delayMs: 150 }, { expect: 'fast', return: 'ok' }] });
    const err = await rejection(qmp.execute('slow', undefined, { timeoutMs: 40 }));
    expect(err.code).toBe('timeout');
    expect(err.message).toBe('QMP slow got no reply within 40 ms');
    // The fake answers in order, so `fast` comes after the late `slow` reply, which must be dropped.
    await expect(qmp.execute('fast')).resolves.toBe('ok');
    expect(qmp.closed).toBe(false);
  });

  it('gets an error reply for a command the script did not expect (fake self-check)', async () => {
    const qmp = await start({ steps: [CAPABILITIES, { expect: 'stop', args: { a: 1 } }] });
    const err = await rejection(qmp.execute('cont'));
    expect(err.message).toMatch(/fake-qmp: unexpected command cont at step 1: expected stop \(CommandNotFound\)/);
    await rejection(qmp.execute('stop', { a: 2 }));
    await expect(qmp.execute('stop', { a: 1 })).resolves.toEqual({});
    await rejection(qmp.execute('stop'));
    expect(fake?.failures).toEqual([
      'unexpected command cont at step 1: expected stop',
      'stop at step 1: arguments {"a":2}, expected {"a":1}',
      'unexpected command stop: the script has ended',
    ]);
    expect(fake?.remaining).toBe(0);
    fake?.failures.splice(0);
  });

  it('rejects commands while closed with io-error', async () => {
    const qmp = await start({ steps: [CAPABILITIES] });
    qmp.close();
    expect(qmp.closed).toBe(true);
    const err = await rejection(qmp.execute('query-status'));
    expect(err.code).toBe('io-error');
    expect(fake?.received).toHaveLength(1);
  });
});

describe('QmpClient events and close', () => {
  it('delivers events with data and timestamp, and stops after the disposer', async () => {
    const qmp = await start({ steps: [CAPABILITIES, { expect: 'ping' }, { expect: 'ping' }] });
    const events: QmpEvent[] = [];
    const dispose = qmp.onEvent((ev) => events.push(ev));
    await fake?.emit({ event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } });
    await qmp.execute('ping');
    dispose();
    await fake?.emit({ event: 'RESET' });
    await qmp.execute('ping');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } });
    expect(events[0]?.timestamp?.seconds).toBeGreaterThan(0);
  });

  it('keeps an event that shares a chunk with the capabilities reply for the first listener', async () => {
    const qmp = await start({ steps: [{ ...CAPABILITIES, oneChunk: true, events: [{ event: 'RESUME' }] }] });
    const events: string[] = [];
    qmp.onEvent((ev) => events.push(ev.event));
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['RESUME']);
  });

  it('rejects pending commands on unexpected EOF and fires onClose once', async () => {
    const qmp = await start({ steps: [CAPABILITIES, { expect: 'query-status', hold: true }, { expect: 'query-block', close: 'instead-of-reply' }] });
    const closes: { error?: Error }[] = [];
    qmp.onClose((info) => closes.push(info));
    const errs = await Promise.all([rejection(qmp.execute('query-status')), rejection(qmp.execute('query-block'))]);
    expect(errs.map((e) => e.code)).toEqual(['io-error', 'io-error']);
    expect(errs[0]?.message).toMatch(/closed before query-status replied/);
    expect(qmp.closed).toBe(true);
    qmp.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(closes).toEqual([{}]);
    // A listener added after the close still hears about it, once.
    const late = await new Promise((r) => qmp.onClose(r));
    expect(late).toEqual({});
  });

  it('delivers events that came with the EOF before onClose fires', async () => {
    const qmp = await start({ steps: [{ ...CAPABILITIES, oneChunk: true, events: [{ event: 'SHUTDOWN', data: { guest: true } }], close: 'after-reply' }] });
    const log: string[] = [];
    qmp.onEvent((ev) => log.push(ev.event));
    await new Promise<void>((r) => qmp.onClose(() => (log.push('close'), r())));
    expect(log).toEqual(['SHUTDOWN', 'close']);
  });

  it.each<[string, (qmp: QmpClient) => void]>([
    ['the server drops the connection', () => fake?.drop()],
    // Owners (QemuVm.kill) rely on hearing about their own close() too.
    ['close() is called twice', (qmp) => (qmp.close(), qmp.close())],
  ])('fires onClose once, without an error, when %s; disposed listeners stay quiet', async (_, end) => {
    const qmp = await start({ steps: [CAPABILITIES] });
    const infos: unknown[] = [];
    const closed = new Promise<void>((r) => qmp.onClose((i) => (infos.push(i), r())));
    qmp.onClose(() => infos.push('disposed listener'))();
    end(qmp);
    await closed;
    await new Promise((r) => setTimeout(r, 20));
    expect(infos).toEqual([{}]);
  });

  it('drops the connection with an error when an unfinished line exceeds the limit', async () => {
    // `hold` keeps the reply back for good, so the oversized line never gets its newline.
    const qmp = await start({ steps: [CAPABILITIES, { expect: 'query-status', hold: true }] });
    const info = new Promise<{ error?: Error }>((r) => qmp.onClose(r));
    const pending = rejection(qmp.execute('query-status'));
    await fake?.sendRaw('{"pad":"' + 'y'.repeat(QMP_MAX_LINE));
    const { error } = await info;
    expect(error).toBeInstanceOf(BentoError);
    expect(error?.message).toMatch(/longer than/);
    expect((await pending).code).toBe('io-error');
  });

  it('drops the connection when a complete line exceeds the limit', async () => {
    const qmp = await start({ steps: [CAPABILITIES] });
    const info = new Promise<{ error?: Error }>((r) => qmp.onClose(r));
    const events: string[] = [];
    qmp.onEvent((ev) => events.push(ev.event));
    await fake?.emit({ event: 'HUGE', data: { pad: 'y'.repeat(QMP_MAX_LINE) } });
    expect((await info).error?.message).toMatch(/longer than/);
    expect(events).toEqual([]);
  });
});
