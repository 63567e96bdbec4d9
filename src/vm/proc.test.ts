import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isSameProcess, processAlive, processIdentity, waitForExit } from './proc.js';

describe('process identity', () => {
  it('recognises a live process by start time and a marker in its argv', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const pid = child.pid!;
    const id = processIdentity(pid);
    expect(id).not.toBeNull();
    expect(isSameProcess(id!, 'sleep')).toBe(true);
    expect(isSameProcess(id!, 'not-in-argv')).toBe(false);
    expect(isSameProcess({ pid, startTime: '1' }, 'sleep')).toBe(false);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(processAlive(pid)).toBe(false);
    expect(processIdentity(pid)).toBeNull();
  });

  it('treats bad pids as dead', () => {
    expect(processAlive(0)).toBe(false);
    expect(processAlive(-5)).toBe(false);
    expect(processAlive(1.5)).toBe(false);
  });

  it('waitForExit reports a timeout and an exit', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    expect(await waitForExit(child.pid!, 100)).toBe(false);
    child.kill('SIGKILL');
    expect(await waitForExit(child.pid!, 2000)).toBe(true);
  });
});
