import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { treeSnapshot, waitFor } from '../helpers/bento.js';
import {
  defineDomain,
  guestDomainXml,
  mountNamespaceOf,
  processesInMountNamespace,
  startLibvirtd,
  stopAllLibvirtd,
  type Libvirtd,
} from '../helpers/libvirtd.js';
import { runInPty, type PtyRun } from '../helpers/pty.js';

/**
 * The private libvirtd instances the libvirt tests run against (test/helpers/libvirtd.ts): one reached
 * through its Unix socket, one over qemu+tcp inside a network namespace. Each really runs the test
 * guest, with its serial console through `virsh console`; kill -9 and a restart keep the domains;
 * stop() leaves nothing behind.
 */
describe('private libvirtd instances for tests', () => {
  let sock: Libvirtd;
  let tcp: Libvirtd;
  const runs: PtyRun[] = [];
  const etcBefore = treeSnapshot('/etc/libvirt');

  beforeAll(async () => {
    [sock, tcp] = await Promise.all([startLibvirtd({ kind: 'socket', name: 'hs' }), startLibvirtd({ kind: 'tcp', name: 'ht' })]);
    console.log(`libvirtd up: socket ${sock.timings.firstConnectMs.toFixed(0)} ms (caps cache seeded: ${sock.timings.seeded}), tcp ${tcp.timings.firstConnectMs.toFixed(0)} ms (seeded: ${tcp.timings.seeded})`);
  });
  afterAll(async () => {
    for (const r of runs) r.kill();
    await stopAllLibvirtd();
  });

  it('answers on its socket from the test namespace, and over tcp inside its network namespace', async () => {
    expect(sock.uri).toBe(`qemu:///system?socket=${sock.socketPath}`);
    expect(sock.netnsExec).toEqual([]);
    const v = await sock.virsh(['version']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toMatch(/Running hypervisor: QEMU/);

    expect(tcp.uri).toBe(`qemu+tcp://127.0.0.1:${tcp.port}/system`);
    expect(tcp.netnsExec).toEqual(['nsenter', `--net=/run/netns/${tcp.netns!.name}`, '--']);
    const t = await tcp.virsh(['uri']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout.trim()).toBe(tcp.uri);
    // The tcp instance's own socket works from here too (the helper's virsh for outside changes).
    const s = await tcp.virsh(['-c', tcp.socketUri, 'uri']);
    expect(s.stdout.trim()).toBe(tcp.socketUri);
    // A socket instance is reachable from inside the network namespace: one bentod there sees both.
    const inNs = execFileSync(tcp.netnsExec[0]!, [...tcp.netnsExec.slice(1), 'virsh', '-q', '-c', sock.uri, 'uri'], { encoding: 'utf8' });
    expect(inNs.trim()).toBe(sock.uri);
  });

  it('runs on a private configuration: no network autostarts, the system folders untouched', async () => {
    for (const inst of [sock, tcp]) {
      expect(fs.readdirSync(`${inst.dir}/etc/qemu/networks/autostart`)).toEqual([]);
      const nets = await inst.virsh(['net-list', '--all', '--autostart']);
      expect(nets.code, nets.stderr).toBe(0);
      expect(nets.stdout.trim()).toBe('');
      const active = await inst.virsh(['net-list']);
      expect(active.stdout.trim()).toBe('');
      expect(fs.readFileSync(`${inst.dir}/etc/qemu.conf`, 'utf8')).toMatch(/cgroup_controllers = \[ \]\nuser = "root"\ngroup = "root"/);
      // The daemons' pid files are in the private /run/libvirt, which is the instance folder.
      expect(inst.pid).toBeGreaterThan(0);
      expect(fs.readlinkSync(`/proc/${inst.pid}/ns/mnt`)).toBe(mountNamespaceOf(inst));
      expect(fs.readlinkSync(`/proc/${inst.pid}/ns/mnt`)).not.toBe(fs.readlinkSync('/proc/self/ns/mnt'));
    }
    expect(fs.readlinkSync(`/proc/${tcp.pid}/ns/net`)).not.toBe(fs.readlinkSync('/proc/self/ns/net'));
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('/tmp/blv-');
    expect(treeSnapshot('/etc/libvirt')).toEqual(etcBefore);
  });

  it('boots the test guest on each (TCG, no NIC) with its shell on virsh console, and destroys it', async () => {
    const boot = async (inst: Libvirtd): Promise<void> => {
      await defineDomain(inst, guestDomainXml('g1'));
      const t0 = performance.now();
      const st = await inst.virsh(['start', 'g1']);
      expect(st.code, st.stderr).toBe(0);
      const started = performance.now() - t0;
      // Attached right away: the guest prints its READY marker seconds later under TCG.
      const argv = inst.virshArgv(['console', 'g1']);
      const run = runInPty(argv[0]!, argv.slice(1));
      runs.push(run);
      await run.waitForScreen('BENTO-GUEST-READY', 90_000);
      const ready = performance.now() - t0;
      run.write('echo hi$((1+1))\r');
      await run.waitForScreen(/^hi2\s*$/m, 15_000);
      run.write('\x1d');
      expect((await run.exited).exitCode).toBe(0);
      console.log(`${inst.name}: virsh start ${started.toFixed(0)} ms, boot to the guest's shell ${ready.toFixed(0)} ms`);
      const list = await inst.virsh(['list', '--all']);
      expect(list.stdout).toMatch(/^\s*\d+\s+g1\s+running$/m);
      const info = await inst.virsh(['dumpxml', 'g1']);
      expect(info.stdout).toContain("<domain type='qemu'");
      expect(info.stdout).not.toContain('<interface');
    };
    await Promise.all([boot(sock), boot(tcp)]);
    const d = await sock.virsh(['destroy', 'g1']);
    expect(d.code, d.stderr).toBe(0);
    expect((await sock.virsh(['domstate', 'g1'])).stdout.trim()).toBe('shut off');
    // tcp keeps its guest running for the restart below.
  });

  it('comes back after kill -9 with the same domains, the running guest still running', async () => {
    const before = tcp.pid;
    tcp.kill('SIGKILL');
    await waitFor('libvirtd to die', () => !fs.existsSync(`/proc/${before}`) || fs.readFileSync(`/proc/${before}/stat`, 'utf8').includes(') Z '), 5000, 20);
    const down = await tcp.virsh(['list', '--all'], { timeoutMs: 10_000 });
    expect(down.code).not.toBe(0);
    expect(down.stderr).toMatch(/Connection refused|failed to connect/);
    const t0 = performance.now();
    await tcp.restart();
    console.log(`tcp libvirtd restart to answering: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(tcp.pid).not.toBe(before);
    const list = await tcp.virsh(['list', '--all']);
    expect(list.stdout).toMatch(/^\s*\d+\s+g1\s+running$/m);
    const sockList = await sock.virsh(['list', '--all']);
    expect(sockList.stdout).toMatch(/^\s*-\s+g1\s+shut off$/m);
    const d = await tcp.virsh(['destroy', 'g1']);
    expect(d.code, d.stderr).toBe(0);
  });

  it('stops without leftovers: no daemons, guests, namespaces, mounts or folders', async () => {
    const r = await tcp.virsh(['start', 'g1']);
    expect(r.code, r.stderr).toBe(0);
    const ns = [mountNamespaceOf(sock), mountNamespaceOf(tcp)];
    expect(processesInMountNamespace(ns[1]!).length).toBeGreaterThanOrEqual(4); // holder, virtlogd, libvirtd, qemu
    const netns = tcp.netns!.name;
    const dirs = [sock.dir, tcp.dir];
    await stopAllLibvirtd();
    for (const n of ns) expect(processesInMountNamespace(n)).toEqual([]);
    for (const d of dirs) expect(fs.existsSync(d)).toBe(false);
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(netns);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('/tmp/blv-');
    await sock.stop(); // idempotent
  });
});
