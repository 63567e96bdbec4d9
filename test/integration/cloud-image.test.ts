// A real distribution from `create --image` to a shell: the cloud-like Debian 12 test image (systemd,
// cloud-init, openssh-server, GRUB on its disk) served by a local mirror, a qcow2 overlay on the
// verified cache, a NoCloud seed, SSH through the forwarded port with host keys pinned from the
// console, port forwards, shared folders mounted by the seed, and the TUI's ssh key. One VM is booted and shared by the steps below,
// in order (each step needs the state the one before left); the guest uses restricted networking.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENTO, bento, cleanupHome, tempHome, waitFor } from '../helpers/bento.js';
import { fileDigests, mirrorBuiltin, startImageServer, type ImageServer } from '../helpers/image-server.js';
import { runInPty, type PtyRun } from '../helpers/pty.js';
import { expectedGuestUser, testImage } from '../helpers/test-image.js';
import { freeLoopbackPort } from '../../src/vm/net.js';
import type { Vm } from '../../src/vm/types.js';

const BOOT_WAIT_S = '600';


function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer((c) => c.end('host-only\n'));
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('a cloud image VM, from create --image to bento ssh (real Debian 12 guest under TCG)', () => {
  let home: string;
  let mirrorRoot: string;
  let server: ImageServer;
  let env: Record<string, string>;
  let baseSha256: string;
  let webPort: number;
  let shareRw: string;
  let shareRo: string;
  const user = expectedGuestUser();
  const ssh = (cmd: string, timeout = 120_000) => bento(home, ['ssh', 'web', cmd], { env, timeout });
  const vm = async (): Promise<Vm> => JSON.parse((await bento(home, ['inspect', 'web', '--json'], { env })).stdout) as Vm;
  const runs: PtyRun[] = [];

  beforeAll(async () => {
    const image = testImage();
    home = tempHome();
    mirrorRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-mirror-'));
    baseSha256 = mirrorBuiltin(mirrorRoot, 'debian-12', 'x86_64', image).sha256;
    server = await startImageServer(mirrorRoot);
    env = { BENTO_IMAGE_MIRROR: server.url };
    webPort = await freeLoopbackPort();
    // Shared folders ride on the same boot: one read-write, one read-only.
    shareRw = path.join(home, 'share-rw');
    shareRo = path.join(home, 'share-ro');
    fs.mkdirSync(shareRw);
    fs.mkdirSync(shareRo);
    fs.writeFileSync(path.join(shareRw, 'from-host.txt'), 'cloud-share-hello\n');
    fs.writeFileSync(path.join(shareRo, 'keep.txt'), 'cloud-ro\n');
  }, 600_000);

  afterAll(async () => {
    for (const r of runs) r.kill();
    await cleanupHome(home);
    await server?.close();
    fs.rmSync(mirrorRoot, { recursive: true, force: true });
  });

  it('create --image pulls and verifies the image, and the VM disk is an overlay on the read-only cached base', async () => {
    const r = await bento(home, ['create', 'web', '--image', 'debian-12', '--network', 'restricted', '--publish', `127.0.0.1:${webPort}:8080`, '--disk-size', '3G', '--cpus', '2', '--mount', `${shareRw}:/srv/rw`, '--mount', `${shareRo}:/srv/ro:ro`], { env, timeout: 300_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^pulled debian-12 \(sha256-[0-9a-f]{12}.*\) in [\d.]+ s$/m);
    expect(r.stdout).toMatch(/^created web$/m);
    const v = await vm();
    expect(v.spec.image).toMatchObject({ ref: 'debian-12', sha256: baseSha256, format: 'qcow2' });
    expect(v.spec.network).toBe('restricted');
    expect(v.spec.cloudInit?.user).toBe(user);
    const base = v.spec.image!.path;
    expect(base).toBe(path.join(home, 'images', `sha256-${baseSha256}`));
    expect(fs.statSync(base).mode & 0o777).toBe(0o444);
    const disk = v.spec.disks[0]!;
    expect(path.dirname(disk.path)).toBe(v.dir);
    const info = JSON.parse(execFileSync('qemu-img', ['info', '-U', '--output=json', disk.path], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(info).toMatchObject({ format: 'qcow2', 'backing-filename': base, 'backing-filename-format': 'qcow2', 'virtual-size': 3 * 1024 ** 3 });
    expect(fs.existsSync(path.join(v.dir, 'cidata.iso'))).toBe(true);
  }, 300_000);

  it('start --wait returns once the guest is reachable; bento ssh runs as the seeded user with bento\'s key and the pinned host keys', async () => {
    const start = await bento(home, ['start', 'web', '--wait', '--wait-timeout', BOOT_WAIT_S], { env, timeout: 700_000 });
    expect(start.exitCode, start.stderr).toBe(0);
    expect(start.stdout).toMatch(/^web ready in [\d.]+ s \(ssh 127\.0\.0\.1:\d+; bento ssh web\)$/m);
    const v = await vm();
    expect(v.ready).toBe(true);
    expect(v.ssh).toMatchObject({ host: '127.0.0.1', user, hostKeyAlias: 'bento-web', hostKeysPinned: true });
    const ls = await bento(home, ['ls'], { env });
    expect(ls.stdout).toMatch(new RegExp(`web\\s+running\\s+ready\\s+2\\s+1G\\s+tcg\\s+\\S+\\s+127\\.0\\.0\\.1:${v.ssh!.port}`));

    const hostname = await ssh('cat /etc/hostname');
    expect(hostname.exitCode, hostname.stderr).toBe(0);
    expect(hostname.stdout.trim()).toBe('web');
    const whoami = await ssh('whoami; sudo -n true && echo sudo-ok');
    expect(whoami.stdout.trim().split('\n')).toEqual([user, 'sudo-ok']);
    // The guest trusts bento's own key for this home, the one `bento ssh` offers (IdentitiesOnly).
    const keys = await ssh('cat ~/.ssh/authorized_keys');
    const own = fs.readFileSync(path.join(home, 'ssh', 'id_ed25519.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    expect(keys.stdout).toContain(own);
    // Pinned from the console: the file holds exactly the keys the guest's sshd serves.
    const pinned = fs.readFileSync(path.join(v.dir, 'known_hosts'), 'utf8').trim().split('\n');
    expect(pinned.length).toBeGreaterThan(0);
    expect(pinned.every((l) => l.startsWith('bento-web '))).toBe(true);
    const served = await ssh('cat /etc/ssh/ssh_host_*_key.pub');
    for (const line of pinned) expect(served.stdout).toContain(line.split(' ').slice(1, 3).join(' '));
    // The disk grew to the overlay's size (cloud-init's growpart + resizefs).
    const df = await ssh("df -B1M --output=size / | tail -1");
    expect(Number(df.stdout.trim())).toBeGreaterThan(2500);
  }, 800_000);

  it('shared folders are mounted at boot by the seed: a host file reads in the guest, a guest write lands on the host, a :ro write fails', async () => {
    const r = await ssh('cat /srv/rw/from-host.txt /srv/ro/keep.txt; findmnt -no FSTYPE,OPTIONS /srv/ro');
    expect(r.stdout, r.stderr).toContain('cloud-share-hello');
    expect(r.stdout).toContain('cloud-ro');
    // Debian's cloud kernel has virtiofs but no 9p: on this host (root, QEMU's C virtiofsd) both shares are virtio-fs.
    expect((await vm()).spec.mounts.map((m) => m.type)).toEqual(['virtiofs', 'virtiofs']);
    expect(r.stdout).toMatch(/^virtiofs\s+ro,/m);
    const w = await ssh('echo guest-wrote | sudo tee /srv/rw/from-guest.txt >/dev/null && sync && echo ok');
    expect(w.stdout.trim(), w.stderr).toBe('ok');
    expect(fs.readFileSync(path.join(shareRw, 'from-guest.txt'), 'utf8')).toBe('guest-wrote\n');
    const bad = await ssh('sudo sh -c "echo x > /srv/ro/new.txt" 2>&1; echo status=$?');
    expect(bad.stdout).toMatch(/Read-only file system/);
    expect(bad.stdout).toMatch(/status=[1-9]/);
    expect(fs.readdirSync(shareRo)).toEqual(['keep.txt']);
  }, 300_000);

  it('restricted networking lets nothing out: the guest cannot reach even the host', async () => {
    const port = await freeLoopbackPort();
    const srv = await listen(port);
    try {
      const r = await ssh(`timeout 5 bash -c 'exec 3<>/dev/tcp/10.0.2.2/${port} && cat <&3' && echo reached || echo blocked`);
      expect(r.stdout.trim()).toBe('blocked');
    } finally {
      srv.close();
    }
  }, 120_000);

  it('--publish reaches a server started in the guest; a taken host port is a clear error naming it', async () => {
    const serve = await ssh('nohup python3 -m http.server 8080 --bind 0.0.0.0 --directory /etc </dev/null >/dev/null 2>&1 & echo started');
    expect(serve.stdout.trim()).toBe('started');
    const body = await waitFor(`the guest's web server through 127.0.0.1:${webPort}`, async () => {
      // A try that hangs (the forward accepted, the guest silent) must not use up the whole wait.
      const res = await fetch(`http://127.0.0.1:${webPort}/hostname`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
      return res?.ok ? await res.text() : null;
    }, 60_000, 500);
    expect(body.trim()).toBe('web');

    const taken = await freeLoopbackPort();
    const holder = await listen(taken);
    try {
      const r = await bento(home, ['publish', 'web', '--add', `127.0.0.1:${taken}:9090`], { env });
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`publish 127.0.0.1:${taken}:9090/tcp: host port 127.0.0.1:${taken}/tcp is in use by another program`);
      expect((await vm()).spec.publish).toHaveLength(1);
    } finally {
      holder.close();
    }
  }, 120_000);

  it('the TUI opens an SSH session with h and comes back to the table', async () => {
    const tui = runInPty('node', [BENTO], { env: { BENTO_HOME: home, ...env }, cols: 120, rows: 34 });
    runs.push(tui);
    await tui.waitForScreen(/web\s+● running ✓/, 30_000);
    tui.write('h');
    await waitFor('the ssh session in the guest', async () => {
      tui.write('echo "in-$(hostname)-as-$(whoami)"\r');
      await new Promise((r) => setTimeout(r, 1_000));
      return tui.screen().includes(`in-web-as-${user}`);
    }, 60_000, 0);
    tui.write('exit\r');
    await tui.waitForScreen('back from ssh web', 30_000);
    await tui.waitForScreen(/web\s+● running ✓/, 10_000);
    tui.write('q');
    await tui.exited;
  }, 120_000);

  it('image rm refuses the base while web uses it', async () => {
    const r = await bento(home, ['image', 'rm', 'debian-12'], { env });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/web/);
    expect(fs.existsSync(path.join(home, 'images', `sha256-${baseSha256}`))).toBe(true);
  });

  it('data written in the guest survives stop and start; the base image is unchanged', async () => {
    const w = await ssh('echo bento-data-42 > ~/persist && sync && echo written');
    expect(w.stdout.trim()).toBe('written');
    const stop = await bento(home, ['stop', 'web', '--timeout', '120'], { env, timeout: 200_000 });
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(stop.stdout.trim()).toBe('web stopped (guest-shutdown)');
    const base = path.join(home, 'images', `sha256-${baseSha256}`);
    expect(fileDigests(base).sha256).toBe(baseSha256);

    const start = await bento(home, ['start', 'web', '--wait', '--wait-timeout', BOOT_WAIT_S], { env, timeout: 700_000 });
    expect(start.exitCode, start.stderr).toBe(0);
    expect((await ssh('cat ~/persist')).stdout.trim()).toBe('bento-data-42');
    const logs = await bento(home, ['logs', 'web'], { env });
    expect(logs.stdout).toMatch(/^-- bento: boot 2, /);
  }, 900_000);

  it('a host key that changes is refused by bento ssh', async () => {
    const regen = await ssh('sudo rm -f /etc/ssh/ssh_host_* && sudo ssh-keygen -A >/dev/null && sudo systemctl restart ssh && echo regenerated');
    expect(regen.stdout.trim()).toBe('regenerated');
    const r = await ssh('true', 60_000);
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    // The pinned keys are not replaced by anything the network said.
    const v = await vm();
    expect(v.ssh?.hostKeysPinned).toBe(true);
  }, 120_000);

  it('once web is deleted, its base image can be removed', async () => {
    expect((await bento(home, ['rm', '--force', 'web'], { env, timeout: 60_000 })).exitCode).toBe(0);
    const r = await bento(home, ['image', 'rm', 'debian-12'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(home, 'images', `sha256-${baseSha256}`))).toBe(false);
  }, 120_000);
});
