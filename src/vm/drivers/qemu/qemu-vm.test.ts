// QemuVm's QMP mapping on the shared supervision core: a fake QMP server, a real `sleep` as "qemu".
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CAPABILITIES, startFakeQmp, type FakeQmp } from '../../../../test/helpers/fake-qmp.js';
import { vmFiles } from '../../paths.js';
import { processAlive } from '../../proc.js';
import type { DriverEvent } from '../driver.js';
import { connectQmp } from './qmp.js';
import { exitRecordReason, QemuVm } from './qemu-vm.js';

let dir: string;
let fake: FakeQmp | null;
let child: ChildProcess | null;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qvm-'));
  fake = null;
  child = null;
});

afterEach(async () => {
  if (child?.pid && processAlive(child.pid)) process.kill(child.pid, 'SIGKILL');
  await fake?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function running(hold = false): Promise<{ vm: QemuVm; pid: number; events: DriverEvent[] }> {
  const files = vmFiles(dir);
  fake = await startFakeQmp(files.qmpSocket, { steps: [CAPABILITIES, ...(hold ? [{ expect: 'query-status', hold: true }] : [])] });
  const qmp = await connectQmp(files.qmpSocket, { timeoutMs: 2_000 });
  child = spawn('sleep', ['60'], { stdio: 'ignore' });
  const pid = child.pid!;
  const vm = new QemuVm({ qmp, pid, startedAt: new Date(), accel: 'tcg', files, consoleDevice: 'serial' });
  const events: DriverEvent[] = [];
  vm.onEvent((ev) => events.push(ev));
  return { vm, pid, events };
}

describe('exitRecordReason', () => {
  const at = '2024-01-01T00:00:00Z';
  it.each([
    [{ pid: 7, code: null, signal: 'SIGKILL', at }, 'host-killed: SIGKILL'],
    [{ pid: 7, code: 3, signal: null, at }, 'crashed: qemu exited with status 3'],
    [{ pid: 7, code: 0, signal: null, at }, null],
    [{ pid: 8, code: null, signal: 'SIGKILL', at }, null],
    [null, null],
  ])('%o -> %s', (rec, reason) => {
    expect(exitRecordReason(rec, 7)).toBe(reason);
  });
});

describe('QemuVm', () => {
  it('maps QMP events, and reports the SHUTDOWN reason once qemu has exited', async () => {
    const { vm, pid, events } = await running();
    await fake!.emit({ event: 'STOP' });
    await fake!.emit({ event: 'SHUTDOWN', data: { guest: true, reason: 'guest-shutdown' } });
    process.kill(pid, 'SIGTERM');
    fake!.drop();
    await expect.poll(() => events.at(-1)?.state, { timeout: 6_000 }).toBe('stopped');
    expect(events).toEqual([
      { state: 'paused', reason: null },
      { state: 'stopped', reason: 'guest-shutdown' },
    ]);
    await vm.kill();
    expect(events).toHaveLength(2);
  });

  it('kills through signals while a QMP command hangs, reporting forced', async () => {
    const { vm, pid, events } = await running(true);
    const hung = vm.queryState().catch((e: Error) => e.message);
    // The command must be in flight (qemu got it and never answers) when the kill starts.
    await expect.poll(() => fake!.received.length).toBe(2);
    await vm.kill();
    expect(processAlive(pid)).toBe(false);
    expect(events).toEqual([{ state: 'stopped', reason: 'forced' }]);
    expect(await hung).toMatch(/closed before query-status replied/);
    expect(fake!.received.map((c) => c.execute)).toEqual(['qmp_capabilities', 'query-status']);
  });
});
