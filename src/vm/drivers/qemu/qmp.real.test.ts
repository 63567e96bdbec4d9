import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { connectQmp, type QmpClient, type QmpEvent } from './qmp.js';
import { stateFromQueryStatus, transitionFromEvent } from './qmp-state.js';

// The real thing: a qemu that waits paused (-S), so no kernel or disk is needed. Never skipped; a
// host without qemu fails with a message saying so.
const QEMU = 'qemu-system-x86_64';

let dir: string;
let qemu: ChildProcess | null = null;
let qmp: QmpClient | null = null;

beforeEach(() => {
  // Short path: Unix socket paths must stay under ~104 bytes.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qmpr-'));
});

afterEach(async () => {
  qmp?.close();
  qmp = null;
  const proc = qemu;
  qemu = null;
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts qemu and resolves once its QMP socket exists; rejects clearly if qemu is missing or dies. */
async function startQemu(sock: string): Promise<ChildProcess> {
  const args = ['-accel', 'tcg', '-nodefaults', '-display', 'none', '-machine', 'q35', '-S', '-qmp', `unix:${sock},server=on,wait=off`];
  const proc = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  qemu = proc;
  let stderr = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let failure: Error | null = null;
  proc.once('error', (err: NodeJS.ErrnoException) => {
    failure =
      err.code === 'ENOENT'
        ? new Error(`${QEMU} is not installed or not on PATH; this test needs a real QEMU (apt-get install qemu-system-x86)`)
        : err;
  });
  proc.once('exit', (code, signal) => (failure ??= new Error(`${QEMU} exited early (${code ?? signal}): ${stderr.trim()}`)));
  const deadline = Date.now() + 10_000;
  while (!fs.existsSync(sock)) {
    if (failure) throw failure;
    if (Date.now() > deadline) throw new Error(`${QEMU} did not create ${sock} within 10 s: ${stderr.trim()}`);
    await sleep(10);
  }
  return proc;
}

it('drives a real qemu: query-status, cont → RESUME, stop → STOP, quit → SHUTDOWN and close', async () => {
  const sock = path.join(dir, 'q.sock');
  const proc = await startQemu(sock);
  const exit = new Promise<number | string | null>((r) => proc.once('exit', (code, signal) => r(code ?? signal)));

  const client = (qmp = await connectQmp(sock, { timeoutMs: 5_000 }));
  expect(client.greeting.version?.qemu?.major).toBeGreaterThanOrEqual(4);

  // One ordered log of what arrives, to check how events and replies interleave.
  const log: string[] = [];
  const events: QmpEvent[] = [];
  const waiters = new Map<string, () => void>();
  client.onEvent((ev) => {
    log.push(`event ${ev.event}`);
    events.push(ev);
    waiters.get(ev.event)?.();
  });
  const nextEvent = (name: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${name} event within 5 s; got ${log.join(', ')}`)), 5_000);
      waiters.set(name, () => (clearTimeout(timer), waiters.delete(name), resolve()));
    });
  const run = async <T>(command: string): Promise<T> => {
    const v = await client.execute<T>(command, undefined, { timeoutMs: 5_000 });
    log.push(`reply ${command}`);
    return v;
  };
  const status = () => run<{ status: string; running: boolean }>('query-status');
  const closeInfo = new Promise<{ error?: Error }>((r) => client.onClose((info) => (log.push('close'), r(info))));

  const first = await status();
  expect(first).toMatchObject({ status: 'prelaunch', running: false });
  expect(stateFromQueryStatus(first.status, first.running)).toBe('paused');

  const resumed = nextEvent('RESUME');
  await run('cont');
  await resumed;
  expect(await status()).toMatchObject({ status: 'running', running: true });

  const stopped = nextEvent('STOP');
  await run('stop');
  await stopped;
  const paused = await status();
  expect(stateFromQueryStatus(paused.status, paused.running)).toBe('paused');

  const shutdown = nextEvent('SHUTDOWN');
  // qemu may exit before its reply to `quit` is flushed; either outcome is fine here.
  await run('quit').catch((err: Error) => log.push(`quit rejected: ${err.message}`));
  await shutdown;
  const info = await closeInfo;
  // qemu resets the socket as it exits; the client reports that as a plain close.
  expect(info.error).toBeUndefined();
  expect(client.closed).toBe(true);
  expect(await exit).toBe(0);

  const last = events.at(-1);
  expect(last).toMatchObject({ event: 'SHUTDOWN', data: { guest: false, reason: 'host-qmp-quit' } });
  expect(transitionFromEvent(last as QmpEvent)).toEqual({ state: 'stopped', reason: 'forced' });
  expect(log.filter((l) => l.startsWith('event')).map((l) => l.slice(6))).toEqual(['RESUME', 'STOP', 'SHUTDOWN']);
  expect(log.indexOf('event SHUTDOWN')).toBeLessThan(log.indexOf('close'));
  expect(log.at(-1)).toBe('close');
});
