import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockHeld } from './lock-probe.js';
import { waitForExit } from './proc.js';

async function until(fn: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('lockHeld: is a process of the VM alive, asked of the kernel', () => {
  it('sees an flock held by another process, and through a descendant that inherited it after the locker died', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lock-')), 'vmm.lock');
    expect(lockHeld(file)).toBe(false); // no file yet
    fs.writeFileSync(file, '');
    expect(lockHeld(file)).toBe(false);
    // Like bento-vmm and qemu: the shell takes the lock on fd 9 and starts a child that inherits
    // fd 9, then the shell itself is killed; the child still holds the lock.
    const sh = spawn('bash', ['-c', `exec 9<>${file}; flock -n 9 || exit 3; sleep 30 & echo $!; wait`], { stdio: ['ignore', 'pipe', 'ignore'] });
    const childPid = await new Promise<number>((resolve) => sh.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
    await until(() => lockHeld(file));
    expect(lockHeld(file)).toBe(true);
    sh.kill('SIGKILL');
    await waitForExit(sh.pid!, 5_000);
    expect(lockHeld(file)).toBe(true);
    process.kill(childPid, 'SIGKILL');
    await waitForExit(childPid, 5_000);
    await until(() => !lockHeld(file));
    expect(lockHeld(file)).toBe(false);
  });
});
