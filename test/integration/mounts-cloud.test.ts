// Shared folders in an image VM: bento's seed mounts them at boot by itself (bootcmd runs the mount
// script from the seed). One boot of the cloud-like Debian 12 test image under TCG (~70 s).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, tempHome } from '../helpers/bento.js';
import { testImage } from '../helpers/test-image.js';
import type { Vm } from '../../src/vm/types.js';

describe('shared folders in a cloud image VM are mounted at boot by the seed', () => {
  let home: string;
  let rw: string;
  let ro: string;
  beforeAll(() => {
    home = tempHome();
    rw = path.join(home, 'rw');
    ro = path.join(home, 'ro');
    fs.mkdirSync(rw);
    fs.mkdirSync(ro);
    fs.writeFileSync(path.join(rw, 'from-host.txt'), 'cloud-share-hello\n');
    fs.writeFileSync(path.join(ro, 'keep.txt'), 'cloud-ro\n');
  });
  afterAll(() => cleanupHome(home));

  it('a host file reads in the guest, a guest write lands on the host, a :ro write fails', async () => {
    const c = await bento(home, ['create', 'cm', '--image', testImage(), '--network', 'restricted', '--mount', `${rw}:/srv/rw`, '--mount', `${ro}:/srv/ro:ro`], { timeout: 300_000 });
    expect(c.exitCode, c.stderr).toBe(0);
    const t0 = Date.now();
    const start = await bento(home, ['start', 'cm', '--wait', '--wait-timeout', '600'], { timeout: 700_000 });
    expect(start.exitCode, start.stderr).toBe(0);
    console.log(`cloud image with shares: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const ssh = (cmd: string) => bento(home, ['ssh', 'cm', cmd], { timeout: 120_000 });
    const r = await ssh('cat /srv/rw/from-host.txt /srv/ro/keep.txt; findmnt -no FSTYPE,OPTIONS /srv/ro');
    expect(r.stdout, r.stderr).toContain('cloud-share-hello');
    expect(r.stdout).toContain('cloud-ro');
    // Debian's cloud kernel has virtiofs but no 9p: on this host (root, QEMU's C virtiofsd) both shares are virtio-fs.
    const vm = JSON.parse((await bento(home, ['inspect', 'cm', '--json'])).stdout) as Vm;
    expect(vm.spec.mounts.map((m) => m.type)).toEqual(['virtiofs', 'virtiofs']);
    expect(r.stdout).toMatch(/^virtiofs\s+ro,/m);
    const w = await ssh('echo guest-wrote | sudo tee /srv/rw/from-guest.txt >/dev/null && sync && echo ok');
    expect(w.stdout.trim(), w.stderr).toBe('ok');
    expect(fs.readFileSync(path.join(rw, 'from-guest.txt'), 'utf8')).toBe('guest-wrote\n');
    const bad = await ssh('sudo sh -c "echo x > /srv/ro/new.txt" 2>&1; echo status=$?');
    expect(bad.stdout).toMatch(/Read-only file system/);
    expect(bad.stdout).toMatch(/status=[1-9]/);
    expect(fs.readdirSync(ro)).toEqual(['keep.txt']);
  }, 900_000);
});
