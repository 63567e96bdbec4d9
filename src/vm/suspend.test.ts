// The backend-independent suspend sequence against a scripted RunningVm: what it does to the guest and
// to the files at each failure. (The real sequence with QEMU is in test/integration/suspend.test.ts.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CAPABILITIES, startFakeQmp } from '../../test/helpers/fake-qmp.js';
import { connectQmp } from './drivers/qemu/qmp.js';
import { checkMigrationBlockers, migrationPercent } from './drivers/qemu/migrate.js';
import type { RunningVm } from './drivers/driver.js';
import { BentoError } from './errors.js';
import { vmFiles, type VmFiles } from './paths.js';
import { readRuntime, writeRuntime } from './runtime.js';
import { suspendToDisk } from './suspend.js';

let dir: string;
let files: VmFiles;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'susp-'));
  files = vmFiles(dir);
  writeRuntime(files.state, { pid: 1, startTime: '1', startedAt: new Date().toISOString(), accel: 'tcg', reason: null, logOffset: 0, sshPort: null });
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A VM that records what is done to it; `save` decides what saveState does. */
function scripted(save: (file: string) => Promise<void>, opts: { blocked?: string } = {}) {
  const calls: string[] = [];
  const vm = {
    pause: async () => void calls.push('pause'),
    resume: async () => void calls.push('resume'),
    kill: async () => void calls.push('kill'),
    checkSave: async () => {
      calls.push('checkSave');
      if (opts.blocked) throw new BentoError('unsupported', opts.blocked);
    },
    saveState: async (file: string) => {
      calls.push('saveState');
      // The operation is on record while the backend writes.
      expect(readRuntime(files.state)?.operation).toMatchObject({ kind: 'suspend' });
      await save(file);
    },
    quitSaved: async () => void calls.push('quitSaved'),
  } as unknown as RunningVm;
  return { vm, calls };
}

const job = (vm: RunningVm, wasPaused = false) => ({ name: 'v', vm, files, wasPaused, report: () => undefined, log: () => undefined });

describe('suspendToDisk', () => {
  it('pauses, saves to the partial, renames it whole, then quits; the record notes the guest was running', async () => {
    const { vm, calls } = scripted(async (file) => fs.writeFileSync(file, 'STATE'));
    const info = await suspendToDisk(job(vm));
    expect(calls).toEqual(['checkSave', 'pause', 'saveState', 'quitSaved']);
    expect(fs.readFileSync(files.savedState, 'utf8')).toBe('STATE');
    expect(fs.existsSync(files.savedStatePartial)).toBe(false);
    expect(info.bytes).toBe(5);
    expect(readRuntime(files.state)).toMatchObject({ operation: null, savedPaused: false });
  });

  it('a paused guest is not paused again, and is recorded as saved while paused', async () => {
    const { vm, calls } = scripted(async (file) => fs.writeFileSync(file, 'S'));
    await suspendToDisk(job(vm, true));
    expect(calls).toEqual(['checkSave', 'saveState', 'quitSaved']);
    expect(readRuntime(files.state)?.savedPaused).toBe(true);
  });

  it('a blocker refuses before anything changes: no pause, no file, nothing on record', async () => {
    const { vm, calls } = scripted(async () => undefined, { blocked: "v cannot be suspended: QEMU says: Migration is disabled when VirtFS export path '/x' is mounted in the guest using mount_tag 'share'" });
    await expect(suspendToDisk(job(vm))).rejects.toThrow(/VirtFS export path/);
    expect(calls).toEqual(['checkSave']);
    expect(fs.readdirSync(dir).sort()).toEqual(['state.json']);
    expect(readRuntime(files.state)?.operation).toBeNull();
  });

  it('a failed save deletes what it wrote and lets the guest run on; no saved state exists', async () => {
    const { vm, calls } = scripted(async (file) => {
      fs.writeFileSync(file, 'HALF');
      throw new BentoError('qmp-error', 'QEMU could not save the VM: Unable to write to socket: Broken pipe');
    });
    await expect(suspendToDisk(job(vm))).rejects.toThrow(/Broken pipe/);
    expect(calls).toEqual(['checkSave', 'pause', 'saveState', 'resume']);
    expect(fs.existsSync(files.savedStatePartial)).toBe(false);
    expect(fs.existsSync(files.savedState)).toBe(false);
    expect(readRuntime(files.state)?.operation).toBeNull();
  });

  it('a partial left by an earlier attempt is deleted first, never renamed', async () => {
    fs.writeFileSync(files.savedStatePartial, 'OLD HALF');
    const { vm } = scripted(async (file) => {
      // saveState gets a file that does not exist yet.
      expect(fs.existsSync(file)).toBe(false);
      fs.writeFileSync(file, 'NEW');
    });
    await suspendToDisk(job(vm));
    expect(fs.readFileSync(files.savedState, 'utf8')).toBe('NEW');
  });

  it('when quitting the saved VM fails it is killed: the guest never runs on beside its saved state', async () => {
    const { vm, calls } = scripted(async (file) => fs.writeFileSync(file, 'S'));
    (vm as unknown as { quitSaved: () => Promise<void> }).quitSaved = async () => {
      calls.push('quitSaved');
      throw new Error('monitor closed');
    };
    await suspendToDisk(job(vm));
    expect(calls.slice(-2)).toEqual(['quitSaved', 'kill']);
    expect(fs.existsSync(files.savedState)).toBe(true);
  });
});

describe('QEMU migration facts', () => {
  it('blocked-reasons from query-migrate become a refusal in QEMU\'s words', async () => {
    const sock = path.join(dir, 'qmp.sock');
    const reason = "Migration is disabled when VirtFS export path '/srv' is mounted in the guest using mount_tag 'share'";
    const fake = await startFakeQmp(sock, { steps: [CAPABILITIES, { expect: 'query-migrate', return: { blocked: true, 'blocked-reasons': [reason] } }, { expect: 'query-migrate', return: {} }] });
    const qmp = await connectQmp(sock, { timeoutMs: 2_000 });
    try {
      const err = await checkMigrationBlockers(qmp, 'web').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BentoError);
      expect((err as BentoError).code).toBe('unsupported');
      expect((err as BentoError).message).toBe(`web cannot be suspended: QEMU says: ${reason}`);
      await expect(checkMigrationBlockers(qmp, 'web')).resolves.toBeUndefined();
    } finally {
      qmp.close();
      await fake.close();
    }
  });

  it('percent comes from RAM sent over RAM total, held below 100 until QEMU says completed', () => {
    expect(migrationPercent({ ram: { total: 1000, remaining: 250 } })).toBe(75);
    expect(migrationPercent({ ram: { total: 1000, remaining: 0 } })).toBe(99);
    expect(migrationPercent({ status: 'setup' })).toBeNull();
  });
});
