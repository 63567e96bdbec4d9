import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { runInPty } from '../helpers/pty.js';
import { BENTO, bento, cleanupHome, daemonPid as helperDaemonPid, createGuest, processPids, qemuPids, serialLog, tempHome, typeSerial, vmmPids, waitFor, waitForLog } from '../helpers/bento.js';

/**
 * Fault injection against a real bentod and real qemu guests: the engine's view of a VM is derived
 * from the processes, never from a file that may be stale, and nothing hangs on a stuck qemu.
 * Every test counts qemu processes by /proc: exactly one per running VM, and no orphan at the end.
 */

/** A command that must return (exit status and output kept); `within` is only a hang detector. */
async function returns(home: string, args: string[], within = 60_000, env?: Record<string, string>) {
  const r = await bento(home, args, { timeout: within, ...(env ? { env } : {}) });
  expect(r.timedOut, `bento ${args.join(' ')} hung`).toBe(false);
  return r;
}

function vmDir(home: string, name: string): string {
  return path.join(home, 'vms', name);
}

function daemonPid(home: string): number {
  const pid = helperDaemonPid(home);
  if (pid === null) throw new Error(`no bentod.pid in ${home}`);
  return pid;
}

async function killDaemon(home: string): Promise<void> {
  const pid = daemonPid(home);
  process.kill(pid, 'SIGKILL');
  await waitFor('bentod to die', () => !fs.existsSync(`/proc/${pid}`) || fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '));
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}

async function state(home: string, name: string): Promise<{ state: string; reason: string | null; pid: number | null }> {
  const vms = JSON.parse((await returns(home, ['ls', '--json'])).stdout) as { name: string; state: string; reason: string | null; pid: number | null }[];
  return vms.find((v) => v.name === name)!;
}

async function bootedGuest(home: string, name: string): Promise<number> {
  await createGuest(home, name, { extra: ['--memory', '128M'] });
  const r = await returns(home, ['start', name]);
  expect(r.exitCode, r.stderr).toBe(0);
  await waitForLog(home, name, 'BENTO-GUEST-READY', 120_000);
  const pids = qemuPids(vmDir(home, name));
  expect(pids).toHaveLength(1);
  return pids[0]!;
}

/** No qemu and no bento-vmm of this VM is left (no orphan, no zombie counted). */
function noProcessesLeft(home: string, name: string): void {
  const dir = `${vmDir(home, name)}/`;
  expect({ qemu: qemuPids(dir), vmm: vmmPids(dir) }).toEqual({ qemu: [], vmm: [] });
}

describe('the process is the truth', () => {
  let home: string;
  beforeAll(() => {
    home = tempHome();
  });
  afterAll(() => cleanupHome(home));

  it('a garbage state.json and a bentod restart: the VM is still running, start is refused, one qemu', async () => {
    const pid = await bootedGuest(home, 'g');
    await killDaemon(home);
    fs.writeFileSync(path.join(vmDir(home, 'g'), 'state.json'), '{"pid": "garbage", ');
    const vm = await state(home, 'g');
    expect([vm.state, vm.pid]).toEqual(['running', pid]);
    const again = await returns(home, ['start', 'g']);
    expect(again.exitCode).toBe(1);
    expect(again.stderr.trim()).toMatch(/^bento: g is already running/);
    expect(qemuPids(vmDir(home, 'g'))).toEqual([pid]);
    // rm without --force refuses while the qemu lives; with --force it kills it first.
    const rm = await returns(home, ['rm', 'g']);
    expect(rm.exitCode).toBe(1);
    expect(fs.existsSync(vmDir(home, 'g'))).toBe(true);
    expect((await returns(home, ['rm', 'g', '--force'])).exitCode).toBe(0);
    expect(fs.existsSync(vmDir(home, 'g'))).toBe(false);
    noProcessesLeft(home, 'g');
  });

  it('with its socket removed, bentod still holds the home: no second bentod, no second qemu', async () => {
    const pid = await bootedGuest(home, 'sock');
    const first = daemonPid(home);
    fs.rmSync(path.join(home, 'bentod.sock'));
    const ls = await returns(home, ['ls']);
    expect(ls.exitCode).toBe(1);
    expect(ls.stderr.trim()).toBe(`bento: bentod is already running (pid ${first}) in ${home} but its socket ${path.join(home, 'bentod.sock')} does not answer; stop it (kill ${first}) and run bento again`);
    const start = await returns(home, ['start', 'sock']);
    expect(start.exitCode).toBe(1);
    expect(qemuPids(vmDir(home, 'sock'))).toEqual([pid]);
    expect(processPids('node', 'bentod.js').filter((p) => fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes(`BENTO_HOME=${home}`))).toEqual([first]);
    // The way out the message names: kill it; the next bentod re-adopts the VM.
    process.kill(first, 'SIGTERM');
    await waitFor('bentod to exit', () => !fs.existsSync(`/proc/${first}`) || fs.readFileSync(`/proc/${first}/stat`, 'utf8').includes(') Z '));
    const vm = await state(home, 'sock');
    expect([vm.state, vm.pid]).toEqual(['running', pid]);
    expect((await returns(home, ['rm', 'sock', '--force'])).exitCode).toBe(0);
    noProcessesLeft(home, 'sock');
  });

  it('kill -9 of bentod during start: the next bentod rolls the start back, and a new start runs one qemu', async () => {
    await createGuest(home, 'k', { extra: ['--memory', '128M'] });
    await killDaemon(home);
    const r = await returns(home, ['start', 'k'], 60_000, { BENTO_TEST_CRASH_AT: 'start-after-spawn' });
    expect(r.exitCode).toBe(1);
    // The qemu was spawned (paused, before `cont`) when bentod died.
    const vm = await state(home, 'k');
    expect([vm.state, vm.reason]).toEqual(['stopped', 'start-interrupted: bentod died during the start; rolled back']);
    expect(qemuPids(vmDir(home, 'k'))).toEqual([]);
    expect((await returns(home, ['start', 'k'])).exitCode).toBe(0);
    expect(qemuPids(vmDir(home, 'k'))).toHaveLength(1);
    expect((await returns(home, ['rm', 'k', '--force'])).exitCode).toBe(0);
    noProcessesLeft(home, 'k');
  });

  it('a start that fails after qemu was spawned leaves no qemu behind', async () => {
    await createGuest(home, 'f', { extra: ['--memory', '128M'] });
    await killDaemon(home);
    const r = await returns(home, ['start', 'f'], 60_000, { BENTO_TEST_FAIL_AT: 'start-after-spawn' });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/ENOSPC/);
    expect(qemuPids(vmDir(home, 'f'))).toEqual([]);
    const vm = await state(home, 'f');
    expect(vm.state).toBe('stopped');
    expect(vm.reason).toMatch(/^start-failed: .*ENOSPC/);
    await killDaemon(home);
    expect((await returns(home, ['rm', 'f'])).exitCode).toBe(0);
    noProcessesLeft(home, 'f');
  });

  it('a serial.log symlinked out of the VM folder is refused, and its target is never written', async () => {
    await createGuest(home, 's', { extra: ['--memory', '128M'] });
    const target = path.join(home, 'outside.txt');
    fs.writeFileSync(target, 'untouched\n');
    fs.symlinkSync(target, path.join(vmDir(home, 's'), 'serial.log'));
    const r = await returns(home, ['start', 's']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/serial\.log.*symlink/);
    expect(fs.readFileSync(target, 'utf8')).toBe('untouched\n');
    expect(qemuPids(vmDir(home, 's'))).toEqual([]);
    expect((await returns(home, ['rm', 's'])).exitCode).toBe(0);
    noProcessesLeft(home, 's');
  });
});

describe('a stuck qemu never hangs bento', () => {
  let home: string;
  beforeAll(() => {
    home = tempHome();
  });
  afterAll(() => cleanupHome(home));

  it('with qemu under SIGSTOP: pause and inspect return with errors, stop --timeout 2 forces it, ls never stays at stopping', async () => {
    const pid = await bootedGuest(home, 'st');
    process.kill(pid, 'SIGSTOP');
    const pause = await returns(home, ['pause', 'st']);
    expect(pause.exitCode).toBe(1);
    expect(pause.stderr).toMatch(/QMP stop got no reply/);
    expect((await state(home, 'st')).state).toBe('error');
    const inspect = await returns(home, ['inspect', 'st', '--json']);
    expect(inspect.exitCode).toBe(0);
    expect(JSON.stringify(JSON.parse(inspect.stdout).runtime)).toMatch(/no reply/);
    const stop = await returns(home, ['stop', 'st', '--timeout', '2']);
    expect(stop.stdout.trim()).toBe('st stopped (forced)');
    expect((await state(home, 'st')).state).toBe('stopped');
    expect(qemuPids(vmDir(home, 'st'))).toEqual([]);

    // Again with --force, and restart --force, both on a stopped (SIGSTOP) qemu.
    expect((await returns(home, ['start', 'st'])).exitCode).toBe(0);
    process.kill(qemuPids(vmDir(home, 'st'))[0]!, 'SIGSTOP');
    const restart = await returns(home, ['restart', 'st', '--force']);
    expect(restart.exitCode, restart.stderr).toBe(0);
    expect(qemuPids(vmDir(home, 'st'))).toHaveLength(1);
    process.kill(qemuPids(vmDir(home, 'st'))[0]!, 'SIGSTOP');
    const force = await returns(home, ['stop', 'st', '--force']);
    expect(force.stdout.trim()).toBe('st stopped (forced)');
    noProcessesLeft(home, 'st');
  });

  it('a qemu whose monitor does not answer after a bentod restart is listed as error and stop --force kills it', async () => {
    const pid = await bootedGuest(home, 'deaf');
    await killDaemon(home);
    process.kill(pid, 'SIGSTOP');
    const vm = await state(home, 'deaf');
    expect(vm.state).toBe('error');
    expect(vm.reason).toMatch(/^unresponsive: /);
    expect(vm.pid).toBe(pid);
    expect((await returns(home, ['start', 'deaf'])).exitCode).toBe(1);
    const force = await returns(home, ['stop', 'deaf', '--force']);
    expect(force.exitCode, force.stderr).toBe(0);
    expect(qemuPids(vmDir(home, 'deaf'))).toEqual([]);
    noProcessesLeft(home, 'deaf');
  });

  it('an attached bento console notices a stopped (SIGSTOP) bentod and ends, restoring the terminal', async () => {
    await bootedGuest(home, 'att');
    const run = runInPty('bash', ['--norc', '--noprofile', '-c', `stty -g > ${home}/before; node ${BENTO} console att; echo EXIT=$?; stty -g > ${home}/after; sleep 2`], { env: { BENTO_HOME: home } });
    try {
      await run.waitForScreen('(Ctrl-] to detach)', 30_000);
      const dpid = daemonPid(home);
      process.kill(dpid, 'SIGSTOP');
      try {
        await run.waitForScreen(/bentod stopped answering \(nothing for 20 s\); att keeps running/, 60_000);
        await run.waitForScreen('EXIT=1', 10_000);
      } finally {
        process.kill(dpid, 'SIGCONT');
      }
      await waitFor('stty -g after the attach', () => fs.existsSync(`${home}/after`) && fs.readFileSync(`${home}/after`, 'utf8').length > 0, 10_000);
      expect(fs.readFileSync(`${home}/after`, 'utf8')).toBe(fs.readFileSync(`${home}/before`, 'utf8'));
    } finally {
      run.kill();
    }
    expect((await returns(home, ['stop', 'att', '--force'])).exitCode).toBe(0);
    noProcessesLeft(home, 'att');
  });

  it('qemu killed by a signal is reported with that signal, and no zombie counts as running', async () => {
    const pid = await bootedGuest(home, 'sig');
    process.kill(pid, 'SIGKILL');
    await waitFor('the VM to be stopped', async () => (await state(home, 'sig')).state === 'stopped', 30_000);
    expect((await state(home, 'sig')).reason).toBe('host-killed: SIGKILL');
    const exit = JSON.parse(fs.readFileSync(path.join(vmDir(home, 'sig'), 'exit.json'), 'utf8')) as { pid: number; signal: string };
    expect([exit.pid, exit.signal]).toEqual([pid, 'SIGKILL']);
    noProcessesLeft(home, 'sig');
  });
});

describe('a guest that suspended itself', () => {
  let home: string;
  beforeAll(() => {
    home = tempHome();
  });
  afterAll(() => cleanupHome(home));

  it('ACPI S3 shows as paused (suspended), and resume wakes it for real', async () => {
    await bootedGuest(home, 's3');
    const from = serialLog(home, 's3').length;
    // The marker is built by the shell, so the echo of the typed line never contains it.
    await typeSerial(home, 's3', 'echo mem > /sys/power/state; echo WOKE-$((40+2))\r');
    await waitFor('the guest to suspend', async () => {
      const vm = await state(home, 's3');
      return vm.state === 'paused' && vm.reason === 'suspended';
    }, 30_000, 200);
    expect(serialLog(home, 's3').indexOf('WOKE-42', from)).toBe(-1);
    const resume = await returns(home, ['resume', 's3']);
    expect(resume.stdout.trim()).toBe('s3 running');
    await waitForLog(home, 's3', 'WOKE-42', 30_000, from);
    expect((await returns(home, ['stop', 's3', '--force'])).exitCode).toBe(0);
    noProcessesLeft(home, 's3');
  });
});

describe('bentod memory stays bounded under hostile console clients', () => {
  let home: string;
  beforeAll(() => {
    home = tempHome();
  });
  afterAll(() => cleanupHome(home));

  it('100 MiB typed into a console as fast as possible, and 60 viewers that never read while the VM stops', async () => {
    await bootedGuest(home, 'mem');
    const dpid = daemonPid(home);
    const base = rssKiB(dpid);
    const sock = path.join(home, 'bentod.sock');
    // Input: bentod forwards it only as fast as bento-vmm (and the guest's UART) take it.
    const writer = new WebSocket(`ws+unix://${sock}:/api/vms/mem/console?force=1&scrollback=0`);
    await new Promise((r) => writer.once('open', r));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 1600; i++) writer.send(chunk, { binary: true });
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, rssKiB(dpid));
      await new Promise((r) => setTimeout(r, 250));
    }
    writer.terminate();
    // Output: 60 viewers that never read, each asking for the full scrollback, then the VM stops.
    const viewers: WebSocket[] = [];
    for (let i = 0; i < 60; i++) {
      const v = new WebSocket(`ws+unix://${sock}:/api/vms/mem/console?readonly=1&scrollback=4194304`);
      v.on('open', () => (v as unknown as { _socket: net.Socket })._socket.pause());
      v.on('error', () => undefined);
      viewers.push(v);
    }
    await new Promise((r) => setTimeout(r, 2_000));
    const stop = returns(home, ['stop', 'mem', '--force']);
    for (let i = 0; i < 20; i++) {
      peak = Math.max(peak, rssKiB(dpid));
      await new Promise((r) => setTimeout(r, 250));
    }
    expect((await stop).exitCode).toBe(0);
    for (const v of viewers) v.terminate();
    // The bound stated in the README: bentod holds at most ~1 MiB of console output per viewer.
    console.info(`bentod RSS: ${base} KiB before, peak ${peak} KiB with a 100 MiB typist and 60 stalled viewers`);
    expect(peak - base, `bentod RSS grew from ${base} KiB to ${peak} KiB`).toBeLessThan(96 * 1024);
    expect(serialLog(home, 'mem').length).toBeGreaterThan(0);
    noProcessesLeft(home, 'mem');
  });
});

describe('a full disk', () => {
  it('start on a full BENTO_HOME fails with the reason and leaves no qemu', async () => {
    const home = tempHome();
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', home]);
    } catch (err) {
      throw new Error(`this test mounts a small tmpfs and needs root: ${String(err)}`);
    }
    try {
      await createGuest(home, 'full', { extra: ['--memory', '128M'] });
      // Fill every block that is left.
      try {
        execFileSync('dd', ['if=/dev/zero', `of=${path.join(home, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
      } catch {
        // dd stops with ENOSPC: that is the point
      }
      const r = await returns(home, ['start', 'full']);
      if (r.exitCode === 0) {
        // qemu may start on a full disk (its pid file fit); then it must be tracked and stoppable.
        expect(qemuPids(vmDir(home, 'full'))).toHaveLength(1);
        expect((await returns(home, ['stop', 'full', '--force'])).exitCode).toBe(0);
      } else {
        expect(r.stderr.trim()).toMatch(/^bento: start-failed: /);
      }
      expect(qemuPids(vmDir(home, 'full'))).toEqual([]);
      expect(vmmPids(home)).toEqual([]);
    } finally {
      await cleanupHome(home).catch(() => undefined);
      try {
        execFileSync('umount', ['-l', home]);
      } catch {
        // cleanupHome may have raced
      }
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
