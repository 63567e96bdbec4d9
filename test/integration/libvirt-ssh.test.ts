import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execa, type Result } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Disposer, HostInfo, StateEvent, Vm } from '../../src/vm/types.js';
import { BENTO, cleanupHome, client, guest, tempHome, waitFor } from '../helpers/bento.js';
import { createNetns, startLibvirtd, stopAllLibvirtd, type Libvirtd, type Netns } from '../helpers/libvirtd.js';
import { runInPty, type PtyRun } from '../helpers/pty.js';
import { privateHome, startSshd, type PrivateHome, type Sshd } from '../helpers/sshd.js';

/**
 * A libvirt host reached over qemu+ssh://, the most common remote URI, with credentials that are
 * libvirt's own: an SSH key given as the URI's `keyfile`, the server's host key verified against
 * ~/.ssh/known_hosts, no password anywhere.
 *
 * The "remote" machine is this one: a private sshd (test/helpers/sshd.ts) on 127.0.0.1:22 of a network
 * namespace, whose sessions run libvirt's `nc -U` to a private libvirtd of the socket kind. bentod
 * and every bento command run in that namespace and in a mount namespace whose ~ is a temp folder
 * (OpenSSH's client reads ~/.ssh from the passwd entry, never the real one here). bentod is detached
 * from any terminal, so ssh can never prompt: a wrong key or an unknown host key fails at once.
 *
 * One guest boot: lifecycle, an outside suspend seen over ssh, the console and the sshd's death share it.
 */

type HostVm = Vm & { host: string; reachable: boolean; libvirt: { uri: string; domain: string; foreign: boolean } | null };

const G = guest();
const CMDLINE = 'console=ttyS0 bento.acpi=poweroff';

describe('a libvirt host over qemu+ssh://', () => {
  let lv: Libvirtd;
  let netns: Netns;
  let sshd: Sshd;
  let sshHome: PrivateHome;
  let home: string;
  let uri: string;
  const runs: PtyRun[] = [];
  const disposers: Disposer[] = [];

  /** `bento ARGS` in the namespaces; no agent, so the key in the URI is the only credential. */
  const bento = (args: string[], timeoutMs = 120_000): Promise<Result<{ reject: false }>> => {
    const ns = sshHome.exec;
    return execa(ns[0]!, [...ns.slice(1), 'node', BENTO, ...args], {
      env: { BENTO_HOME: home, SSH_AUTH_SOCK: undefined },
      reject: false,
      timeout: timeoutMs,
    }) as unknown as Promise<Result<{ reject: false }>>;
  };
  const ok = async (args: string[]): Promise<string> => {
    const r = await bento(args);
    expect(r.exitCode, `bento ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return String(r.stdout);
  };
  const api = <T>(url: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const req = http.request({ socketPath: path.join(home, 'bentod.sock'), path: url }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T));
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`GET ${url} timed out`)));
      req.end();
    });
  const host = async (name: string): Promise<HostInfo | undefined> => (await api<HostInfo[]>('/api/hosts')).find((h) => h.name === name);
  const vm = async (name: string): Promise<HostVm | undefined> => (await api<HostVm[]>('/api/vms')).find((v) => v.name === name);
  const domstate = async (dom: string): Promise<string> => (await lv.virsh(['domstate', dom])).stdout.trim();
  const sshUri = (o: { user?: string; hostname?: string; key?: string } = {}): string =>
    `qemu+ssh://${o.user ?? 'root'}@${o.hostname ?? '127.0.0.1'}/system?socket=${lv.socketPath}&keyfile=${o.key ?? sshd.clientKey}`;

  beforeAll(async () => {
    lv = await startLibvirtd({ kind: 'socket', name: 'ssh1' });
    netns = createNetns();
    sshd = await startSshd({ netns });
    sshHome = await privateHome({ netns, knownHosts: [sshd.knownHostsLine] });
    home = tempHome();
    uri = sshUri();
  });
  afterAll(async () => {
    for (const r of runs) r.kill();
    for (const d of disposers) d();
    if (home) await cleanupHome(home);
    sshHome?.stop();
    sshd?.stop();
    netns?.remove();
    await stopAllLibvirtd();
  });

  it('reaches libvirtd through the private sshd with the key (virsh, as a user would check first)', async () => {
    const ns = sshHome.exec;
    const r = await execa(ns[0]!, [...ns.slice(1), 'setsid', 'virsh', '-q', '-c', uri, 'uri'], { reject: false, timeout: 30_000, stdin: 'ignore', env: { SSH_AUTH_SOCK: undefined } });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout).trim()).toBe(uri);
    expect(sshd.log()).toMatch(/Accepted publickey for root from 127\.0\.0\.1/);
  });

  it('adds the host and connects over ssh; a password in the URI is refused, changing nothing', async () => {
    expect(await ok(['host', 'add', 'ssh1', uri])).toMatch(/^ssh1\b/);
    await waitFor('ssh1 connected', async () => (await host('ssh1'))?.state === 'connected', 60_000, 100);
    expect(await host('ssh1')).toMatchObject({ name: 'ssh1', kind: 'libvirt', uri, state: 'connected', reason: null });

    const before = fs.readFileSync(path.join(home, 'preferences.json'), 'utf8');
    const r = await bento(['host', 'add', 'ssh9', `qemu+ssh://root:hunter2@127.0.0.1/system?socket=${lv.socketPath}`]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^bento: .*uri must not carry a password.*credentials are libvirt's own: SSH agent, TLS certificates or SASL/);
    expect(r.stderr).not.toContain('hunter2');
    expect(fs.readFileSync(path.join(home, 'preferences.json'), 'utf8')).toBe(before);
    expect((await api<HostInfo[]>('/api/hosts')).map((h) => h.name)).toEqual(['local', 'ssh1']);
  });

  it("shows a wrong key and an unknown host key as unreachable at once, with ssh's message (no hang, no prompt)", async () => {
    const wrongKey = path.join(sshHome.dir, 'wrong_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', wrongKey]);
    const t0 = performance.now();
    await ok(['host', 'add', 'badkey', sshUri({ key: wrongKey })]);
    // `localhost` is the same sshd under a name known_hosts does not have: host key checking is on.
    await ok(['host', 'add', 'badhost', sshUri({ hostname: 'localhost' })]);
    await waitFor('both unreachable', async () => (await host('badkey'))?.state === 'unreachable' && (await host('badhost'))?.state === 'unreachable', 10_000, 50);
    console.log(`wrong key / unknown host key -> unreachable in ${(performance.now() - t0).toFixed(0)} ms`);
    expect((await host('badkey'))!.reason).toMatch(/Permission denied \(publickey\)/);
    expect((await host('badhost'))!.reason).toMatch(/Host key verification failed/);
    expect((await host('badhost'))!.retryAt).not.toBeNull();
    // Nothing was written to the known_hosts (no "accept new key" happened), the good host is untouched.
    expect(fs.readFileSync(path.join(sshHome.dir, '.ssh', 'known_hosts'), 'utf8')).toBe(`${sshd.knownHostsLine}\n`);
    expect((await host('ssh1'))?.state).toBe('connected');
    await ok(['host', 'rm', 'badkey']);
    await ok(['host', 'rm', 'badhost']);
    expect((await api<HostInfo[]>('/api/hosts')).map((h) => h.name)).toEqual(['local', 'ssh1']);
  });

  it('creates and starts a VM over ssh', async () => {
    await ok(['create', 'ssh1/t1', '--kernel', G.kernel, '--initrd', G.initrd, '--cmdline', CMDLINE, '--memory', '256M', '--accel', 'tcg', '--network', 'none']);
    const xml = (await lv.virsh(['dumpxml', 't1'])).stdout;
    expect(xml).toContain('urn:bento:vm:1');
    expect(xml).not.toContain('<interface');
    expect(await ok(['start', 'ssh1/t1'])).toMatch(/running/);
    expect(await domstate('t1')).toBe('running');
    expect(await vm('ssh1/t1')).toMatchObject({ host: 'ssh1', backend: 'libvirt', state: 'running', reachable: true, libvirt: { uri, domain: 't1', foreign: false } });
  });

  it('shows a `virsh suspend` done on the host as paused: the event comes over ssh', async () => {
    const seen: { name: string; state: string }[] = [];
    disposers.push(await client(home).events({ onEvent: (e: StateEvent) => seen.push({ name: e.name, state: e.state }) }));
    for (const [cmd, state] of [['suspend', 'paused'], ['resume', 'running']] as const) {
      const from = seen.length;
      const r = await lv.virsh([cmd, 't1']);
      expect(r.code, r.stderr).toBe(0);
      await waitFor(`${state} event of ssh1/t1`, () => seen.slice(from).find((e) => e.name === 'ssh1/t1' && e.state === state), 5000, 5);
      expect(await ok(['ls'])).toMatch(new RegExp(`^ssh1\\s+t1\\s+${state}`, 'm'));
    }
    expect(await ok(['pause', 'ssh1/t1'])).toMatch(/paused/);
    expect(await domstate('t1')).toBe('paused');
    expect(await ok(['resume', 'ssh1/t1'])).toMatch(/running/);
  });

  it('attaches to the console over ssh, types and sees the answer, detaches', async () => {
    const run = runInPty(sshHome.exec[0]!, [...sshHome.exec.slice(1), 'node', BENTO, 'console', 'ssh1/t1'], { env: { BENTO_HOME: home } });
    runs.push(run);
    await run.waitForScreen('(Ctrl-] to detach)', 20_000);
    await waitFor('the shell of ssh1/t1', async () => {
      run.write('echo hi$((1+1))\r');
      await new Promise((r) => setTimeout(r, 1500));
      return /^hi2\s*$/m.test(run.screen());
    }, 90_000, 0);
    run.write('\x1d');
    // The screen may lag the exit by a read: wait for the words, then for the status.
    await run.waitForScreen('detached from ssh1/t1', 15_000);
    expect((await run.exited).exitCode).toBe(0);
    expect(fs.readFileSync(path.join((await vm('ssh1/t1'))!.dir, 'serial.log'), 'utf8')).toContain('hi2');
  });

  it('shows the host unreachable within 10 s when sshd dies (kill -9), and reconnects by itself when it is back', async () => {
    const t0 = performance.now();
    sshd.killAll();
    const down = await waitFor('ssh1 unreachable', async () => {
      const h = await host('ssh1');
      return h?.state === 'unreachable' ? h : null;
    }, 10_000, 20);
    console.log(`kill -9 sshd -> host unreachable in ${(performance.now() - t0).toFixed(0)} ms: ${down.reason}`);
    expect(down.reason).toBe('connection lost: the ssh connection to libvirtd closed');
    await waitFor('ssh1/t1 unreachable', async () => (await vm('ssh1/t1'))?.reachable === false, 5000, 20);
    // libvirtd and the guest never noticed.
    expect(await domstate('t1')).toBe('running');
    const refused = await bento(['pause', 'ssh1/t1'], 20_000);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/ssh1 is unreachable/);
    // A retry while sshd is down fails with ssh's own message.
    await waitFor("a retry with ssh's message", async () => /Connection refused/.test((await host('ssh1'))?.reason ?? ''), 15_000, 100);

    await sshd.start();
    const t1 = performance.now();
    await waitFor('ssh1 connected again', async () => (await host('ssh1'))?.state === 'connected', 30_000, 50);
    await waitFor('ssh1/t1 reachable again', async () => (await vm('ssh1/t1'))?.reachable === true, 10_000, 50);
    console.log(`sshd back -> host connected and VM reachable in ${(performance.now() - t1).toFixed(0)} ms`);
    expect((await vm('ssh1/t1'))!.state).toBe('running');
  });

  it('stops and deletes over ssh', async () => {
    expect(await ok(['stop', '--force', 'ssh1/t1'])).toMatch(/stopped/);
    expect(await domstate('t1')).toBe('shut off');
    expect(await ok(['rm', 'ssh1/t1'])).toMatch(/deleted/);
    expect((await lv.virsh(['list', '--all', '--name'])).stdout).not.toMatch(/^t1$/m);
    expect(await vm('ssh1/t1')).toBeUndefined();
    await ok(['host', 'rm', 'ssh1']);
    expect((await api<HostInfo[]>('/api/hosts')).map((h) => h.name)).toEqual(['local']);
  });
});
