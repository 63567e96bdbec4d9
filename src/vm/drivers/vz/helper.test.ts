// The helper's logic in-process, against the fake binding: configuration calls, console plumbing,
// control protocol, stop reasons. helper-main.test.ts runs the real entry as a separate process.
import fs from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeVzBinding, FAKE_BANNER, type FakeVzOptions } from '../../../../test/helpers/fake-vz.js';
import { helperConfig, shortTemp, until } from '../../../../test/helpers/vz-fixture.js';
import { readRuntime } from '../../runtime.js';
import { ControlClient, type HelperStateMessage } from './control-client.js';
import { VzHelper } from './helper.js';
import type { HelperConfig } from './protocol.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

async function boot(opts: FakeVzOptions = {}, tweak: (c: HelperConfig) => void = () => undefined) {
  const dir = shortTemp();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = helperConfig(dir);
  tweak(config);
  const binding = createFakeVzBinding(opts);
  const logs: string[] = [];
  const helper = new VzHelper(binding, config, (l) => logs.push(l));
  return { dir, config, binding, helper, logs };
}

async function running(opts: FakeVzOptions = {}) {
  const b = await boot(opts);
  const started = await b.helper.start();
  // Whatever a test leaves running is stopped, so no server or pipe outlives it.
  cleanups.push(() => void b.helper.signal('SIGTERM'));
  const client = await ControlClient.connect(b.config.files.control);
  cleanups.push(() => client.close());
  const states: HelperStateMessage[] = [];
  client.onState((m) => states.push(m));
  return { ...b, started, client, states };
}

describe('VzHelper', () => {
  it('builds the VM from the config exactly, starts it, records state.json and greets clients', async () => {
    const { config, binding, started, client } = await running();
    expect(binding.calls).toEqual([{ call: 'info' }, { call: 'createMachine', config: config.vz }, { call: 'start' }]);
    expect(started).toMatchObject({ pid: process.pid, logOffset: 0 });
    expect(client.hello).toMatchObject({ type: 'hello', protocol: 1, pid: process.pid, state: 'running', vzState: 'VZVirtualMachineStateRunning', saveRestore: true });
    expect(readRuntime(config.files.state)).toMatchObject({ pid: process.pid, accel: 'vz', reason: null, logOffset: 0 });
    expect(fs.statSync(config.files.control).isSocket()).toBe(true);
  });

  it('appends guest output to serial.log, wakes console clients, and sends their input to the guest', async () => {
    const { config } = await running();
    await until('the boot banner in serial.log', () => fs.readFileSync(config.files.log, 'utf8').includes(FAKE_BANNER));
    const sock = net.connect(config.files.console);
    cleanups.push(() => sock.destroy());
    let seen = '';
    sock.on('data', (d: Buffer) => (seen += d.toString()));
    await new Promise((r) => sock.once('connect', r));
    sock.write('uname\n');
    await until('the echo on the socket', () => seen.includes('echo:uname'));
    // The boot's separator record comes first, as bento-vmm writes it for QEMU.
    const log = fs.readFileSync(config.files.log, 'utf8');
    const record = log.indexOf('\r\n') + 2;
    expect(log.slice(0, record)).toMatch(/^-- bento: boot 1, \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ --\r\n$/);
    expect(log.slice(record)).toBe(`${FAKE_BANNER}echo:uname\n`);
  });

  it('pauses and resumes, broadcasting each VZ state in order', async () => {
    const { client, states } = await running();
    await client.request('pause');
    expect(await client.request('query')).toEqual({ state: 'paused', vzState: 'VZVirtualMachineStatePaused' });
    await client.request('resume');
    expect(states.map((s) => s.state)).toEqual(['pausing', 'paused', 'resuming', 'running']);
  });

  it('ends with guest-shutdown when the guest powers off, removing its sockets and recording the reason', async () => {
    const { helper, client, states, config, binding } = await running();
    await client.request('requestStop');
    expect(await helper.finished).toBe('guest-shutdown');
    expect(states.at(-1)).toEqual({ type: 'state', state: 'stopped', vzState: 'VZVirtualMachineStateStopped', reason: 'guest-shutdown' });
    expect(fs.existsSync(config.files.control)).toBe(false);
    expect(fs.existsSync(config.files.console)).toBe(false);
    expect(readRuntime(config.files.state)?.reason).toBe('guest-shutdown');
    expect(binding.calls.map((c) => c.call)).toEqual(['info', 'createMachine', 'start', 'requestStop', 'dispose']);
    expect(fs.readFileSync(config.files.log, 'utf8')).toContain('reboot: Power down');
  });

  it('ends with forced after a destructive stop', async () => {
    const { helper, client, states } = await running();
    await client.request('stop');
    expect(await helper.finished).toBe('forced');
    expect(states.map((s) => s.state)).toEqual(['stopping', 'stopped']);
  });

  it('on macOS 11 (no stop API) a stop ends the helper, which ends the VM', async () => {
    const { helper, client, binding } = await running({ macos: '11.7' });
    await client.request('stop');
    expect(await helper.finished).toBe('forced');
    expect(binding.calls.map((c) => c.call)).not.toContain('stop');
  });

  it('reports a crash as error, then stopped with the NSError', async () => {
    const { helper, states } = await running({ crashAfterMs: 20 });
    expect(await helper.finished).toBe('crashed: The virtual machine stopped unexpectedly. [VZErrorDomain 1]');
    expect(states.map((s) => [s.state, s.reason])).toEqual([
      ['error', 'crashed: The virtual machine stopped unexpectedly. [VZErrorDomain 1]'],
      ['stopped', 'crashed: The virtual machine stopped unexpectedly. [VZErrorDomain 1]'],
    ]);
  });

  it('undoes everything when the start fails, keeping the NSError domain and code', async () => {
    const { helper, config, binding } = await boot({ startError: { kind: 'vz', message: 'Invalid virtual machine configuration.', domain: 'VZErrorDomain', nsCode: 2 } });
    await expect(helper.start()).rejects.toMatchObject({ message: 'Invalid virtual machine configuration.', domain: 'VZErrorDomain', nsCode: 2 });
    expect(fs.existsSync(config.files.control)).toBe(false);
    expect(fs.existsSync(config.files.console)).toBe(false);
    expect(fs.existsSync(config.files.state)).toBe(false);
    expect(binding.calls.map((c) => c.call)).toEqual(['info', 'createMachine', 'start', 'dispose']);
  });

  it('refuses to start without the entitlement, or where virtualisation is unsupported', async () => {
    const a = await boot({ entitled: false });
    await expect(a.helper.start()).rejects.toMatchObject({ kind: 'entitlement' });
    expect(a.binding.calls.map((c) => c.call)).toEqual(['info']);
    const b = await boot({ supported: false });
    await expect(b.helper.start()).rejects.toMatchObject({ kind: 'unsupported', message: /isSupported is false/ });
  });

  it('answers malformed and unknown requests with protocol errors and keeps serving', async () => {
    const { config, client } = await running();
    const raw = net.connect(config.files.control);
    cleanups.push(() => raw.destroy());
    let text = '';
    raw.on('data', (d: Buffer) => (text += d.toString()));
    raw.write('garbage\n{"id":7,"op":"format-disk"}\n');
    await until('two protocol errors', () => text.split('\n').filter((l) => l.includes('"kind":"protocol"')).length === 2);
    expect(text).toContain('"id":7');
    expect(await client.request('query')).toMatchObject({ state: 'running' });
  });

  it('maps a failed operation to a BentoError on the client, with the VZ code', async () => {
    const { client } = await running();
    await expect(client.request('resume')).rejects.toMatchObject({ code: 'invalid-state', message: /resume failed: .*\[VZErrorDomain 4: invalid state transition\]/ });
  });

  it('saves a paused VM to the default file (macOS 14, Apple silicon) and refuses elsewhere', async () => {
    const { client, binding, dir } = await running();
    await expect(client.request('save')).rejects.toMatchObject({ message: /VZErrorDomain 3/ });
    await client.request('pause');
    await client.request('save');
    expect(binding.calls.at(-1)).toEqual({ call: 'save', file: `${dir}/vz-saved.state` });
    const old = await running({ macos: '13.6' });
    await expect(old.client.request('save')).rejects.toMatchObject({ code: 'unsupported', message: /macOS 14 on Apple silicon/ });
  });

  it('restores instead of booting when the config names a saved state, and leaves the VM paused for bentod', async () => {
    const b = await boot({}, (c) => (c.restoreFrom = '/saved/state'));
    await b.helper.start();
    expect(b.binding.calls.map((c) => c.call)).toEqual(['info', 'createMachine', 'restore']);
    expect(b.binding.calls[2]).toEqual({ call: 'restore', file: '/saved/state' });
  });

  it('inspect reports the native status, features and configuration', async () => {
    const { client, config } = await running();
    const r = await client.request<Record<string, unknown>>('inspect');
    expect(r).toMatchObject({ state: 'running', macos: '14.5', arch: 'arm64', configuration: config.vz });
    expect(r.status).toMatchObject({ state: 1, canPause: true, canResume: false });
  });
});
