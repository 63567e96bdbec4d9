// The real helper entry as its own process (node --import tsx helper-main.ts CONFIG), with the fake
// binding injected through BENTO_VZ_FAKE_BINDING: the startup line, the control protocol, exit codes.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeVzOptions } from '../../../../test/helpers/fake-vz.js';
import { fakeEnv, helperConfig, HELPER_MAIN, recordedCalls, ROOT, shortTemp, until } from '../../../../test/helpers/vz-fixture.js';
import { readRuntime } from '../../runtime.js';
import { ControlClient } from './control-client.js';
import type { StartupLine } from './protocol.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanups.splice(0).reverse()) fn();
});

interface Launched {
  child: ChildProcess;
  line: StartupLine;
  dir: string;
  files: ReturnType<typeof helperConfig>['files'];
  calls: () => ReturnType<typeof recordedCalls>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

async function launch(opts: FakeVzOptions, env?: NodeJS.ProcessEnv): Promise<Launched> {
  const dir = shortTemp();
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const config = helperConfig(dir);
  const cfgPath = path.join(dir, 'vz-helper.json');
  fs.writeFileSync(cfgPath, JSON.stringify(config));
  const callLog = path.join(dir, 'calls.jsonl');
  const child = spawn(process.execPath, ['--import', 'tsx', HELPER_MAIN, cfgPath], {
    cwd: ROOT,
    env: env ?? fakeEnv(opts, callLog),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(() => child.kill('SIGKILL'));
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const line = await new Promise<StartupLine>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as StartupLine);
    });
    child.on('exit', () => setTimeout(() => reject(new Error(`helper exited without a startup line: ${err}`)), 50));
  });
  return { child, line, dir, files: config.files, calls: () => recordedCalls(callLog), exit, stderr: () => err };
}

describe('vz-helper process', () => {
  it('starts, prints one started line, serves the control socket, and exits 0 when the guest powers off', async () => {
    const h = await launch({});
    expect(h.line).toMatchObject({ type: 'started', pid: h.child.pid, logOffset: 0, node: process.version });
    expect(readRuntime(h.files.state)).toMatchObject({ pid: h.child.pid, accel: 'vz', reason: null });
    expect(fs.statSync(h.files.control).mode & 0o777).toBe(0o600);
    const client = await ControlClient.connect(h.files.control);
    cleanups.push(() => client.close());
    expect(client.hello).toMatchObject({ pid: h.child.pid, state: 'running' });
    const stopped = new Promise((r) => client.onState((m) => m.state === 'stopped' && r(m.reason)));
    await client.request('requestStop');
    expect(await stopped).toBe('guest-shutdown');
    expect(await h.exit).toEqual({ code: 0, signal: null });
    expect(h.calls().map((c) => c.call)).toEqual(['info', 'createMachine', 'start', 'requestStop', 'dispose']);
    expect(readRuntime(h.files.state)?.reason).toBe('guest-shutdown');
    expect(h.stderr()).toMatch(/VM stopped \(guest-shutdown\); exiting/);
  });

  it('prints a failed line with the NSError domain and code when the configuration does not validate, and exits 1', async () => {
    const h = await launch({ createError: { kind: 'vz', message: 'Invalid virtual machine configuration.', domain: 'VZErrorDomain', nsCode: 2, failureReason: 'The number of CPUs is invalid.' } });
    expect(h.line).toEqual({
      type: 'failed',
      error: { kind: 'vz', message: 'Invalid virtual machine configuration.', domain: 'VZErrorDomain', nsCode: 2, failureReason: 'The number of CPUs is invalid.' },
    });
    expect((await h.exit).code).toBe(1);
    expect(fs.existsSync(h.files.control)).toBe(false);
  });

  it('says which entitlement the node lacks', async () => {
    const h = await launch({ entitled: false });
    expect(h.line).toMatchObject({ type: 'failed', error: { kind: 'entitlement', message: /lacks the com\.apple\.security\.virtualization entitlement/ } });
  });

  it('stops the VM on SIGTERM and records host-killed', async () => {
    const h = await launch({});
    h.child.kill('SIGTERM');
    expect(await h.exit).toEqual({ code: 0, signal: null });
    expect(readRuntime(h.files.state)?.reason).toBe('host-killed');
    expect(h.calls().map((c) => c.call)).toContain('stop');
  });

  it('never loads the fake without BENTO_VZ_TEST=1', async () => {
    const dir = shortTemp();
    const env = { ...fakeEnv({}, path.join(dir, 'calls')), BENTO_VZ_TEST: '' };
    const h = await launch({}, env);
    expect(h.line).toMatchObject({ type: 'failed', error: { kind: 'binding', message: /only honoured by tests in a source checkout/ } });
    expect(h.calls()).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the VM running when its spawner goes away (stdout closed after the startup line)', async () => {
    const h = await launch({});
    h.child.stdout?.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const client = await ControlClient.connect(h.files.control);
    cleanups.push(() => client.close());
    expect(await client.request('query')).toMatchObject({ state: 'running' });
    await until('the helper to be alive', () => h.child.exitCode === null);
  });
});
