// Shared setup for the vz tests: a short temp folder (socket paths < 104 bytes) and a helper config.
import fs from 'node:fs';
import path from 'node:path';
import type { HelperConfig } from '../../src/vm/drivers/vz/protocol.js';
import { FAKE_LOG_ENV, FAKE_OPTIONS_ENV, type FakeCall, type FakeVzOptions } from './fake-vz.js';

/** The repository root. */
export const ROOT = path.resolve(import.meta.dirname, '../..');
/** The helper's TypeScript entry, run with `node --import tsx`. */
export const HELPER_MAIN = path.join(ROOT, 'src/vm/drivers/vz/helper-main.ts');
/** The fake binding module the helper loads when BENTO_VZ_FAKE_BINDING points at it. */
export const FAKE_MODULE = path.join(ROOT, 'test/helpers/fake-vz.ts');

/** A fresh folder under /tmp with a short path. */
export function shortTemp(): string {
  return fs.mkdtempSync('/tmp/bvz-');
}

/** A helper config whose files all live in `dir`; a kernel-booted VM unless overridden. */
export function helperConfig(dir: string, over: Partial<HelperConfig['vz']> = {}): HelperConfig {
  return {
    protocol: 1,
    name: 'fake',
    vz: {
      cpus: 2,
      memoryBytes: 512 * 1024 * 1024,
      boot: { kind: 'linux', kernel: '/k/vmlinuz', initrd: null, cmdline: 'console=hvc0' },
      machineIdentifier: path.join(dir, 'vz-machine-id'),
      disks: [],
      iso: null,
      network: { mac: '52:54:00:aa:bb:cc' },
      entropy: true,
      balloon: true,
      shares: [],
      ...over,
    },
    files: { control: path.join(dir, 'vz.sock'), console: path.join(dir, 'console.sock'), log: path.join(dir, 'serial.log'), state: path.join(dir, 'state.json') },
    restoreFrom: null,
  };
}

/** The environment that makes a helper process load the fake with these options, logging calls to `log`. */
export function fakeEnv(opts: FakeVzOptions, log: string): NodeJS.ProcessEnv {
  return { ...process.env, BENTO_VZ_FAKE_BINDING: FAKE_MODULE, BENTO_VZ_TEST: '1', [FAKE_OPTIONS_ENV]: JSON.stringify(opts), [FAKE_LOG_ENV]: log };
}

/** The calls a helper-side fake recorded, in order. */
export function recordedCalls(log: string): FakeCall[] {
  try {
    return fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as FakeCall);
  } catch {
    return [];
  }
}

/** Polls until fn is truthy; fails naming what it waited for. */
export async function until<T>(what: string, fn: () => T, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
