import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockHeld } from '../../src/vm/lock-probe.js';
import { processArgv } from '../../src/vm/proc.js';
import { strayShareProcesses } from '../../src/vm/drivers/qemu/shares.js';
import { findVirtiofsd } from '../../src/vm/virtiofsd.js';
import type { MountSpec } from '../../src/vm/types.js';
import { bento, cleanupHome, client, createGuest, daemonPid, serialLog, tempHome, typeSerial, waitFor, waitForLog } from '../helpers/bento.js';

/** The virtiofsd processes of a VM folder (bento-vmm and qemu name the sockets too; they are not these). */
function virtiofsdPids(dir: string): number[] {
  return strayShareProcesses(dir).filter((p) => (processArgv(p)?.[0] ?? '').endsWith('virtiofsd'));
}

async function killDaemon(home: string): Promise<void> {
  const pid = daemonPid(home);
  if (pid) process.kill(pid, 'SIGKILL');
  await waitFor('bentod gone', () => {
    try {
      process.kill(pid!, 0);
      return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
    } catch {
      return true;
    }
  }, 10_000);
}

describe('shared folders with a real guest: --mount rw and :ro, by hand as documented', () => {
  let home: string;
  let dir: string;
  let rw: string;
  let ro: string;
  beforeAll(() => {
    home = tempHome();
    dir = path.join(home, 'vms', 'share');
    rw = path.join(home, 'host-rw');
    ro = path.join(home, 'host-ro');
    fs.mkdirSync(rw);
    fs.mkdirSync(ro);
    fs.writeFileSync(path.join(rw, 'from-host.txt'), 'hello-from-the-host-42\n');
    fs.writeFileSync(path.join(ro, 'keep.txt'), 'read-only-content\n');
    fs.mkdirSync(path.join(home, 'host-9p'));
    fs.writeFileSync(path.join(home, 'host-9p', 'keep.txt'), 'nine-p-content\n');
  });
  afterAll(async () => {
    for (const p of strayShareProcesses(dir)) process.kill(p, 'SIGKILL');
    await cleanupHome(home);
  });

  it('bad mounts are refused naming the field, and nothing is created', async () => {
    const g = await bento(home, ['create', 'bad', '--kernel', '/bin/true', '--mount', path.join(home, 'nope'), '--mount', `${rw}:/proc/x`]);
    expect(g.exitCode).not.toBe(0);
    expect(g.stderr).toContain('mounts[0].source does not exist');
    expect(g.stderr).toContain('mounts[1].target must not be /proc or under it');
    expect(fs.existsSync(path.join(home, 'vms', 'bad'))).toBe(false);
  });

  it('host file in, guest write out, :ro writes fail; the virtiofsd lives and dies with its VM and is adopted', async () => {
    const vfsd = findVirtiofsd();
    const rwType = vfsd?.usable ? 'virtiofs' : '9p';
    await createGuest(home, 'share', { extra: ['--disk-size', '32M', '--mount', `${rw}:/mnt/rw`, '--mount', `${ro}:/mnt/ro:ro`] });
    const spec = (await client(home).get('share')).spec;
    expect(spec.mounts).toEqual<MountSpec[]>([
      { source: rw, target: '/mnt/rw', readonly: false, tag: 'bento0', type: rwType },
      // Read-only virtio-fs needs a virtiofsd that can enforce it (here: QEMU's C one as root, inside
      // a read-only bind mount); otherwise 9p, which QEMU makes read-only itself.
      { source: ro, target: '/mnt/ro', readonly: true, tag: 'bento1', type: vfsd?.readonly ? 'virtiofs' : '9p' },
    ]);

    // A virtio-fs share whose virtiofsd is gone (or fails) is a clear start failure, and nothing is left running.
    if (rwType === 'virtiofs') {
      await killDaemon(home);
      const none = await bento(home, ['start', 'share'], { env: { BENTO_VIRTIOFSD: 'none' } });
      expect(none.exitCode).not.toBe(0);
      expect(none.stderr).toContain('start-failed: mounts[0]');
      expect(none.stderr).toContain('no virtiofsd is found on this host');
      await killDaemon(home);
      const fake = path.join(home, 'fake-virtiofsd');
      // Says it is the C virtiofsd when asked for --help, then fails when started for real.
      fs.writeFileSync(fake, '#!/bin/sh\nif [ "$1" = --help ]; then echo "-o source=PATH -o sandbox=namespace"; exit 0; fi\necho "fake virtiofsd: cannot serve" >&2\nexit 3\n', { mode: 0o755 });
      const failing = await bento(home, ['start', 'share'], { env: { BENTO_VIRTIOFSD: fake } });
      expect(failing.exitCode).not.toBe(0);
      expect(failing.stderr).toMatch(/start-failed: .*fake-virtiofsd exited before listening on .*fs-0\.sock \(status 3\): fake virtiofsd: cannot serve/);
      expect(lockHeld(path.join(dir, 'vmm.lock'))).toBe(false);
      expect(strayShareProcesses(dir)).toEqual([]);
      expect((await client(home).get('share')).state).toBe('stopped');
      await killDaemon(home);
    }

    // A PATCH (bento mount) on a host without virtiofsd adds a 9p share; the others keep their type.
    const p9 = path.join(home, 'host-9p');
    const m = await bento(home, ['mount', 'share', `${rw}:/mnt/rw`, `${ro}:/mnt/ro:ro`, `${p9}:/mnt/p9:ro`], { env: { BENTO_VIRTIOFSD: 'none' } });
    expect(m.exitCode, m.stderr).toBe(0);
    expect(m.stdout).toContain(`${p9}:/mnt/p9:ro  (9p, tag bento2)`);
    expect((await client(home).get('share')).spec.mounts.map((x) => x.type)).toEqual([rwType, spec.mounts[1]!.type, '9p']);
    await killDaemon(home);

    const st = await bento(home, ['start', 'share']);
    expect(st.exitCode, st.stderr).toBe(0);
    const helpers = virtiofsdPids(dir);
    if (rwType === 'virtiofs') expect(helpers.length).toBeGreaterThan(0);
    await waitForLog(home, 'share', 'BENTO-GUEST-READY', 120_000);

    // Mount by hand with exactly the commands `bento inspect` shows (and the README documents).
    const inspect = JSON.parse((await bento(home, ['inspect', 'share', '--json'])).stdout) as { guestMounts: { automatic: boolean; commands: string[] } };
    expect(inspect.guestMounts.automatic).toBe(false);
    expect(inspect.guestMounts.commands).toContain(`mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro bento2 /mnt/p9`);
    await typeSerial(home, 'share', `${inspect.guestMounts.commands.join(' && ')} && echo MOUNTS-"DONE"\n`);
    await waitForLog(home, 'share', 'MOUNTS-DONE', 60_000);

    // The host file appears in the guest.
    await typeSerial(home, 'share', 'cat /mnt/rw/from-host.txt /mnt/ro/keep.txt /mnt/p9/keep.txt\n');
    await waitForLog(home, 'share', 'hello-from-the-host-42', 30_000);
    await waitForLog(home, 'share', 'read-only-content', 30_000);
    await waitForLog(home, 'share', 'nine-p-content', 30_000);

    // A guest write appears on the host.
    await typeSerial(home, 'share', 'echo guest-wrote-"this" > /mnt/rw/from-guest.txt && sync && echo WRITE-"OK"\n');
    await waitForLog(home, 'share', 'WRITE-OK', 30_000);
    expect(fs.readFileSync(path.join(rw, 'from-guest.txt'), 'utf8')).toBe('guest-wrote-this\n');

    // Writes into the :ro shares fail, even once the guest mounts them again without `ro` (a tag
    // takes one mount at a time): the host side refuses them (virtiofsd's read-only view, QEMU's
    // readonly=on), not just the guest's mount option.
    const types = (await client(home).get('share')).spec.mounts;
    for (const [i, target, dirOnHost] of [[1, '/mnt/ro', ro], [2, '/mnt/p9', p9]] as const) {
      const before = fs.readdirSync(dirOnHost).sort();
      const again = types[i]!.type === '9p' ? '-t 9p -o trans=virtio,version=9p2000.L' : '-t virtiofs';
      await typeSerial(home, 'share',
        `echo x > ${target}/new.txt || echo RO${i}-WRITE-"FAILED"; ` +
        `umount ${target} && mkdir -p /mnt/again${i} && mount ${again} bento${i} /mnt/again${i} && ` +
        `{ echo x > /mnt/again${i}/new.txt && echo AGAIN${i}-WRITE-"ALLOWED" || echo AGAIN${i}-WRITE-"FAILED"; rm -f /mnt/again${i}/keep.txt || echo AGAIN${i}-RM-"FAILED"; }\n`);
      await waitForLog(home, 'share', `AGAIN${i}-RM-FAILED`, 30_000).catch((err: unknown) => {
        throw new Error(`${String(err)}\n${serialLog(home, 'share').slice(-1500)}`);
      });
      const log = serialLog(home, 'share');
      expect(log).toContain(`RO${i}-WRITE-FAILED`);
      expect(log).toContain(`AGAIN${i}-WRITE-FAILED`);
      expect(log).not.toContain(`AGAIN${i}-WRITE-ALLOWED`);
      expect(fs.readdirSync(dirOnHost).sort()).toEqual(before);
    }
    expect(serialLog(home, 'share')).toMatch(/Read-only file system/);
    expect(fs.readFileSync(path.join(ro, 'keep.txt'), 'utf8')).toBe('read-only-content\n');
    expect(fs.readFileSync(path.join(p9, 'keep.txt'), 'utf8')).toBe('nine-p-content\n');

    // bentod killed and restarted: the VM and its virtiofsd are adopted and the share still works.
    await killDaemon(home);
    expect(virtiofsdPids(dir)).toEqual(helpers);
    const ls = await bento(home, ['ls', '--json']);
    expect((JSON.parse(ls.stdout) as { name: string; state: string }[]).find((v) => v.name === 'share')?.state).toBe('running');
    await typeSerial(home, 'share', 'echo after-"restart" > /mnt/rw/again.txt && sync && echo AGAIN-"OK"\n');
    await waitForLog(home, 'share', 'AGAIN-OK', 30_000);
    expect(fs.readFileSync(path.join(rw, 'again.txt'), 'utf8')).toBe('after-restart\n');
    expect(virtiofsdPids(dir)).toEqual(helpers);

    // QEMU cannot save a VM whose shares are in use (a mounted 9p export, a virtio-fs device): suspend
    // and a RAM snapshot are refused in QEMU's own words, and the VM runs on untouched.
    const sus = await bento(home, ['suspend', 'share']);
    expect(sus.exitCode).not.toBe(0);
    expect(sus.stderr).toMatch(/^bento: .*(virtio-fs|vhost-user-fs|VirtFS|9p|migrat)/im);
    console.log(`suspend with shares in use: ${sus.stderr.trim()}`);
    const snap = await bento(home, ['snapshot', 'share', 'withshares']);
    expect(snap.exitCode).not.toBe(0);
    expect(snap.stderr).toMatch(/snapshot withshares of share/);
    console.log(`snapshot with shares in use: ${snap.stderr.trim()}`);
    const after = await client(home).get('share');
    expect(after).toMatchObject({ state: 'running', savedState: null });
    expect(fs.existsSync(path.join(dir, 'saved.state'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'saved.state.partial'))).toBe(false);
    expect((await client(home).snapshots('share')).map((x) => x.tag)).not.toContain('withshares');
    await typeSerial(home, 'share', 'echo still-"running" > /mnt/rw/still.txt && sync && echo STILL-"OK"\n');
    await waitForLog(home, 'share', 'STILL-OK', 30_000);

    // Stop: the virtiofsd goes with its VM, and nothing holds the VM's lock any more.
    const stop = await bento(home, ['stop', 'share', '--timeout', '60']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    await waitFor('virtiofsd gone after stop', () => virtiofsdPids(dir).length === 0, 10_000);
    expect(lockHeld(path.join(dir, 'vmm.lock'))).toBe(false);
  }, 400_000);
});
