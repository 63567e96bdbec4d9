import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BentoError } from '../../src/vm/errors.js';
import type { Snapshot } from '../../src/vm/types.js';
import { bento, cleanupHome, client, createGuest, serialLog, tempHome, typeSerial, waitForLog } from '../helpers/bento.js';

// One test guest, booted once and reused by every case in order (each case starts from where the
// one before left it). Guest results are read from the serial log: each check prints a marker built
// by the shell (`$((…))`, `$X`), so the echo of the typed command line never matches it.
describe('snapshots of a real guest under TCG', () => {
  let home: string;
  const vm = 'snap';
  const x1 = `x${crypto.randomBytes(3).toString('hex')}`;
  let n = 0;

  /** Types a command that ends by echoing a unique marker, and waits for the marker's output. */
  async function run(cmd: string, timeoutMs = 60_000): Promise<string> {
    const k = ++n;
    const from = serialLog(home, vm).length;
    await typeSerial(home, vm, `${cmd}; echo "END${k}-$((${k}*7))"\n`);
    await waitForLog(home, vm, `END${k}-${k * 7}`, timeoutMs, from);
    return serialLog(home, vm).slice(from);
  }

  /** What the guest sees: is /m/a there, is /m/b there, /m/c, /m/d, and the shell variable X. */
  async function look(): Promise<string> {
    const k = ++n;
    const from = serialLog(home, vm).length;
    const has = (f: string): string => `$([ -e /m/${f} ] && echo ${f}1 || echo ${f}0)`;
    await typeSerial(home, vm, `echo "SEE${k}-$((${k}+1000))-${has('a')}-${has('b')}-${has('c')}-${has('d')}-X=$X."\n`);
    await waitForLog(home, vm, `SEE${k}-${k + 1000}-`, 60_000, from);
    const m = new RegExp(`SEE${k}-${k + 1000}-(\\S+)`).exec(serialLog(home, vm).slice(from));
    return m?.[1] ?? '';
  }

  const list = (): Promise<Snapshot[]> => client(home).snapshots(vm);

  beforeAll(async () => {
    home = tempHome();
    await createGuest(home, vm, { extra: ['--disk-size', '64M'] });
    const s = await bento(home, ['start', vm]);
    expect(s.exitCode, s.stderr).toBe(0);
    await waitForLog(home, vm, 'BENTO-GUEST-READY', 120_000);
    await run('mke2fs -q /dev/vda && mkdir -p /m && mount -t ext4 /dev/vda /m && echo A > /m/a && sync');
  });
  afterAll(() => cleanupHome(home));

  it('a running snapshot brings back disk and RAM: a file written after it is gone, one before it is there, a shell variable comes back', async () => {
    await run(`X=${x1}`);
    const snap = await bento(home, ['snapshot', vm, 't-run']);
    expect(snap.exitCode, snap.stderr).toBe(0);
    expect(snap.stdout).toMatch(/^snap: snapshot t-run \(disks and RAM, running\) in \d+\.\d s$/m);
    expect((await client(home).get(vm)).state).toBe('running');

    await run('echo B > /m/b && sync && X=changed');
    expect(await look()).toBe(`a1-b1-c0-d0-X=changed.`);

    const r = await bento(home, ['snapshot', 'restore', vm, 't-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^snap: restored t-run, running/m);
    expect(await look()).toBe(`a1-b0-c0-d0-X=${x1}.`);
  });

  it('lists, takes and removes snapshots through the CLI and the HTTP API; a paused snapshot restores paused', async () => {
    const c = client(home);
    const made = await c.snapshot(vm, 't-http');
    expect(made).toMatchObject({ tag: 't-http', withRam: true, state: 'running', complete: true });
    expect(made.vmStateBytes).toBeGreaterThan(1024 * 1024);

    // Paused at snapshot time: a restore leaves it paused.
    await c.pause(vm);
    const paused = await bento(home, ['snapshot', vm, 't-paused']);
    expect(paused.exitCode, paused.stderr).toBe(0);
    expect((await c.get(vm)).state).toBe('paused');
    await c.resume(vm);

    const ls = await bento(home, ['snapshot', 'ls', vm]);
    expect(ls.exitCode, ls.stderr).toBe(0);
    expect(ls.stdout.split('\n')[0]).toMatch(/^TAG\s+WHEN\s+RAM\s+STATE\s+SIZE$/);
    expect(ls.stdout).toMatch(/^t-paused\s+just now\s+yes\s+paused\s+\d/m);
    const json = JSON.parse((await bento(home, ['snapshot', 'ls', vm, '--json'])).stdout) as Snapshot[];
    expect(json.map((s) => s.tag).sort()).toEqual(['t-http', 't-paused', 't-run']);
    expect(json.find((s) => s.tag === 't-paused')?.state).toBe('paused');

    const back = await c.restoreSnapshot(vm, 't-paused');
    expect(back.state).toBe('paused');
    await c.resume(vm);

    // A default tag; then removal through HTTP (204) and the CLI.
    const auto = await bento(home, ['snapshot', vm]);
    expect(auto.exitCode, auto.stderr).toBe(0);
    const autoTag = /snapshot (snap-\d{8}-\d{6})/.exec(auto.stdout)?.[1];
    expect(autoTag).toBeDefined();
    await c.removeSnapshot(vm, 't-http');
    const rm = await bento(home, ['snapshot', 'rm', vm, autoTag!]);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect((await list()).map((s) => s.tag).sort()).toEqual(['t-paused', 't-run']);
    await expect(c.removeSnapshot(vm, 't-http')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('refuses a bad tag, a taken tag and a restore over a saved state, changing nothing', async () => {
    const before = await list();
    const bad = await bento(home, ['snapshot', vm, '12']);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/^bento: tag: "12" must be .*not all digits/m);
    const err = await client(home).request('/api/vms/snap/snapshots', { method: 'POST', body: { tag: 'a/b' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BentoError);
    expect((err as BentoError).fields?.[0]?.field).toBe('tag');
    const badPath = await client(home).request('/api/vms/snap/snapshots/-x/restore', { method: 'POST', body: {} }).catch((e: unknown) => e);
    expect((badPath as BentoError).code).toBe('invalid-input');
    const taken = await bento(home, ['snapshot', vm, 't-run']);
    expect(taken.stderr).toMatch(/already has a snapshot named t-run/);

    const saved = path.join(home, 'vms', vm, 'saved.state');
    fs.writeFileSync(saved, 'x');
    const refused = await bento(home, ['snapshot', 'restore', vm, 't-run']);
    fs.rmSync(saved);
    expect(refused.stderr).toMatch(/snap has a saved state; start it \(or start --discard\) first/);
    expect(await list()).toEqual(before);
    expect((await client(home).get(vm)).state).toBe('running');
  });

  it('a RAM snapshot restored on a stopped VM starts it at that instant; a disk-only snapshot restores the disks of a stopped VM', async () => {
    await run('echo C > /m/c && sync');
    const stop = await bento(home, ['stop', vm, '--force']);
    expect(stop.exitCode, stop.stderr).toBe(0);

    // Disk-only: taken while stopped, it holds a and c.
    const disk = await bento(home, ['snapshot', vm, 't-disk']);
    expect(disk.exitCode, disk.stderr).toBe(0);
    expect(disk.stdout).toMatch(/snapshot t-disk \(disks\)/);
    expect((await list()).find((s) => s.tag === 't-disk')).toMatchObject({ withRam: false, state: 'stopped', vmStateBytes: 0, complete: true });

    // RAM snapshot on the stopped VM: it comes up running, mid-shell, with X and without b or c.
    const r = await bento(home, ['snapshot', 'restore', vm, 't-run']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await client(home).get(vm)).state).toBe('running');
    expect(await look()).toBe(`a1-b0-c0-d0-X=${x1}.`);

    // A disk-only snapshot cannot be restored into a running VM.
    const refused = await bento(home, ['snapshot', 'restore', vm, 't-disk']);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/t-disk is a disk-only snapshot .* stop snap first/);

    await run('echo D > /m/d && sync');
    expect((await bento(home, ['stop', vm, '--force'])).exitCode).toBe(0);
    const back = await bento(home, ['snapshot', 'restore', vm, 't-disk']);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(back.stdout).toMatch(/restored t-disk, stopped/);

    // A fresh boot sees the disks as they were at t-disk: a and c, no d.
    const from = serialLog(home, vm).length;
    expect((await bento(home, ['start', vm])).exitCode).toBe(0);
    await waitForLog(home, vm, 'BENTO-GUEST-READY', 120_000, from);
    await run('mkdir -p /m && mount -t ext4 /dev/vda /m');
    expect(await look()).toBe('a1-b0-c1-d0-X=.');
  });

  it('refuses a VM with a writable raw disk, naming the disk, and changes nothing', async () => {
    const raw = path.join(home, 'raw.img');
    fs.writeFileSync(raw, Buffer.alloc(1024 * 1024));
    const g = await bento(home, ['create', 'rawvm', '--disk', raw, '--disk-format', 'raw', '--memory', '128M', '--accel', 'tcg', '--network', 'none']);
    expect(g.exitCode, g.stderr).toBe(0);
    const r = await bento(home, ['snapshot', 'rawvm', 'x1']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.trim()).toBe(`bento: disk ${raw} is raw; snapshots need qcow2 disks (attach it read-only or convert it with qemu-img convert -O qcow2)`);
    expect(fs.existsSync(path.join(home, 'vms', 'rawvm', 'snapshots.json'))).toBe(false);
    expect(fs.readFileSync(raw).equals(Buffer.alloc(1024 * 1024))).toBe(true);
    expect((await client(home).snapshots('rawvm'))).toEqual([]);
  });
});
