// VzVm's control-socket mapping on the shared supervision core: a scripted helper socket, a real
// `sleep` as the helper process.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { shortTemp } from '../../../../test/helpers/vz-fixture.js';
import { processAlive } from '../../proc.js';
import type { DriverEvent } from '../driver.js';
import { ControlClient } from './control-client.js';
import { PROTOCOL_VERSION } from './protocol.js';
import { VzVm } from './vz-vm.js';

let dir: string;
let server: net.Server | null;
let child: ChildProcess | null;

beforeEach(() => {
  dir = shortTemp();
  server = null;
  child = null;
});

afterEach(async () => {
  if (child?.pid && processAlive(child.pid)) process.kill(child.pid, 'SIGKILL');
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A helper socket that says hello, then lets the test write to (and drop) the connection. */
async function helper(): Promise<{ vm: VzVm; pid: number; events: DriverEvent[]; peer: net.Socket; requests: string[] }> {
  const sock = path.join(dir, 'vz.sock');
  child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const pid = child.pid!;
  const requests: string[] = [];
  const accepted = new Promise<net.Socket>((resolve) => {
    server = net.createServer((s) => {
      s.on('data', (d) => requests.push(...d.toString().trim().split('\n')));
      s.on('error', () => undefined);
      s.write(JSON.stringify({ type: 'hello', protocol: PROTOCOL_VERSION, pid, state: 'running', vzState: 'running', startedAt: new Date().toISOString(), logOffset: 0, saveRestore: false }) + '\n');
      resolve(s);
    });
    server.listen(sock);
  });
  await new Promise<void>((r) => server!.once('listening', () => r()));
  const client = await ControlClient.connect(sock, { timeoutMs: 2_000 });
  const peer = await accepted;
  const files = { consoleSocket: path.join(dir, 'c.sock'), serialLog: path.join(dir, 'serial.log'), vzSavedState: path.join(dir, 'saved') };
  const vm = new VzVm({ client, pid, startedAt: new Date(), files, logOffset: 0 });
  const events: DriverEvent[] = [];
  vm.onEvent((ev) => events.push(ev));
  return { vm, pid, events, peer, requests };
}

const state = (s: string, reason: string | null = null): string => JSON.stringify({ type: 'state', state: s, vzState: s, reason }) + '\n';

describe('VzVm', () => {
  it('maps helper states, and reports the helper’s stop reason once it has exited', async () => {
    const { pid, events, peer } = await helper();
    peer.write(state('paused') + state('stopped', 'guest-shutdown'));
    await expect.poll(() => events.length).toBe(1);
    process.kill(pid, 'SIGTERM');
    peer.destroy();
    await expect.poll(() => events.at(-1)?.state, { timeout: 6_000 }).toBe('stopped');
    expect(events).toEqual([
      { state: 'paused', reason: null },
      { state: 'stopped', reason: 'guest-shutdown' },
    ]);
  });

  it('calls a helper whose socket closed control-lost, and reports stopped once it is gone', async () => {
    const { pid, events, peer } = await helper();
    peer.destroy();
    await expect.poll(() => events.at(-1)?.state, { timeout: 8_000 }).toBe('error');
    expect(events.at(-1)?.reason).toMatch(/^control-lost: /);
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => events.at(-1)?.state, { timeout: 4_000 }).toBe('stopped');
    expect(events.at(-1)).toEqual({ state: 'stopped', reason: 'crashed' });
  }, 15_000);

  it('asks for the destructive stop first, and its own kill wins over the reason the helper gives', async () => {
    const { vm, pid, events, peer, requests } = await helper();
    peer.on('data', (d) => {
      const req = JSON.parse(d.toString()) as { id: number; op: string };
      if (req.op !== 'stop') return;
      peer.write(state('stopped', 'guest-shutdown') + JSON.stringify({ type: 'reply', id: req.id, ok: true, result: null }) + '\n');
      process.kill(pid, 'SIGKILL');
      peer.destroy();
    });
    await vm.kill();
    expect(requests.map((r) => (JSON.parse(r) as { op: string }).op)).toEqual(['stop']);
    expect(events).toEqual([{ state: 'stopped', reason: 'forced' }]);
  });
});
