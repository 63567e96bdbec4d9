import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, createGuest, qemuPids, tempHome, typeSerial, waitFor, waitForLog } from '../helpers/bento.js';

const PATTERN = 'BENTO-DISK-PATTERN-0123456789abcdef';

describe('bentod dies, VMs live on, the next bentod re-adopts them', () => {
  let home: string;
  beforeAll(() => {
    home = tempHome();
  });
  afterAll(() => cleanupHome(home));

  it('kill -9 bentod while two VMs run; `bento ls` brings it back with the same qemu pids; the disk is intact', async () => {
    await createGuest(home, 'one', { extra: ['--disk-size', '64M'] });
    await createGuest(home, 'two');
    const started = await Promise.all([bento(home, ['start', 'one']), bento(home, ['start', 'two'])]);
    for (const s of started) expect(s.exitCode, s.stderr).toBe(0);
    await waitForLog(home, 'one', 'BENTO-GUEST-READY', 120_000);
    await waitForLog(home, 'two', 'BENTO-GUEST-READY', 120_000);

    // The guest writes a byte pattern to its disk at offset 1 MiB and flushes it.
    await typeSerial(home, 'one', `printf '${PATTERN}' | dd of=/dev/vda bs=1024 seek=1024 conv=fsync 2>/dev/null; sync; echo WROTE-$((40+2))\n`);
    await waitForLog(home, 'one', 'WROTE-42', 30_000);

    const before = JSON.parse((await bento(home, ['ls', '--json'])).stdout) as { name: string; pid: number; state: string }[];
    expect(before.map((v) => v.state)).toEqual(['running', 'running']);
    const daemonPid = Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8'));
    process.kill(daemonPid, 'SIGKILL');
    await waitFor('bentod to die', () => !fs.existsSync(`/proc/${daemonPid}`) || fs.readFileSync(`/proc/${daemonPid}/stat`, 'utf8').includes(') Z '));

    // The VMs outlived it.
    for (const v of before) expect(qemuPids(path.join(home, 'vms', v.name))).toEqual([v.pid]);

    const ls = await bento(home, ['ls', '--json']);
    expect(ls.exitCode, ls.stderr).toBe(0);
    const after = JSON.parse(ls.stdout) as { name: string; pid: number; state: string }[];
    expect(after.map((v) => [v.name, v.state, v.pid])).toEqual(before.map((v) => [v.name, 'running', v.pid]));
    const newDaemon = Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8'));
    expect(newDaemon).not.toBe(daemonPid);

    // The re-adopted VM is fully drivable: pause/resume and a graceful stop work over the new QMP link.
    expect((await bento(home, ['pause', 'two'])).stdout.trim()).toBe('two paused');
    expect((await bento(home, ['resume', 'two'])).stdout.trim()).toBe('two running');
    const stop = await bento(home, ['stop', 'one', '--timeout', '60']);
    expect(stop.stdout.trim()).toBe('one stopped (guest-shutdown)');
    expect(qemuPids(path.join(home, 'vms', 'one'))).toEqual([]);

    const raw = path.join(home, 'disk.raw');
    execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', path.join(home, 'vms', 'one', 'disk.qcow2'), raw]);
    const fd = fs.openSync(raw, 'r');
    const buf = Buffer.alloc(PATTERN.length);
    fs.readSync(fd, buf, 0, buf.length, 1024 * 1024);
    fs.closeSync(fd);
    expect(buf.toString()).toBe(PATTERN);

    const force = await bento(home, ['stop', 'two', '--force']);
    expect(force.stdout.trim()).toBe('two stopped (forced)');
  });

  it('a second bentod on the same home exits with a clear message', async () => {
    const r = await bento(home, ['ls']);
    expect(r.exitCode).toBe(0);
    const { execa } = await import('execa');
    const second = await execa('node', [path.join(path.dirname(new URL(import.meta.url).pathname), '../../dist/bentod.js')], { env: { BENTO_HOME: home }, reject: false });
    expect(second.exitCode).toBe(3);
    expect(second.stderr).toMatch(/^bentod: bentod is already running \(pid \d+\) on .*bentod\.sock$/m);
  });

  it('ten concurrent starts of one VM leave exactly one qemu', async () => {
    await createGuest(home, 'race');
    const results = await Promise.all(Array.from({ length: 10 }, () => bento(home, ['start', 'race'])));
    const ok = results.filter((r) => r.exitCode === 0);
    const refused = results.filter((r) => r.exitCode !== 0);
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(9);
    for (const r of refused) expect(r.stderr.trim()).toMatch(/^bento: race is already (running|starting)/);
    expect(qemuPids(path.join(home, 'vms', 'race'))).toHaveLength(1);
    await bento(home, ['stop', 'race', '--force']);
    expect(qemuPids(path.join(home, 'vms', 'race'))).toHaveLength(0);
  });
});
