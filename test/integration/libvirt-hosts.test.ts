import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execa, type Result } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Disposer, StateEvent, Vm, VmChange } from '../../src/vm/types.js';
import { BENTO, cleanupHome, client, guest, qemuPids, tempHome, waitFor } from '../helpers/bento.js';
import { defineDomain, guestDomainXml, startLibvirtd, stopAllLibvirtd, type Libvirtd } from '../helpers/libvirtd.js';
import { runInPty, type PtyRun } from '../helpers/pty.js';

/**
 * Two libvirt hosts and `local` in ONE bentod, all driven from the CLI (issue 12's Must-show list):
 * lab1 is a private libvirtd reached through its Unix socket, lab2 one reached over qemu+tcp inside a
 * network namespace. bentod (and every bento command, so the one that auto-starts bentod) runs in that
 * namespace, where lab1's socket, lab2's 127.0.0.1 and local VMs (no NIC) all work.
 *
 * One guest boot per host: the lifecycle, the console and the fault share it.
 */

/** The host fields of a VM (issue 12's contract; in src/vm/types.ts once merged). */
type HostVm = Vm & {
  host: string;
  reachable: boolean;
  libvirt: { uri: string; uuid: string; domain: string; id: number | null; foreign: boolean; persistent: boolean } | null;
};
interface HostInfoView {
  name: string;
  kind: 'local' | 'libvirt';
  uri: string | null;
  state: 'connected' | 'connecting' | 'reconnecting' | 'unreachable';
  reason: string | null;
  retryAt: string | null;
  since: string;
  vms: number;
}

const G = guest();
const CMDLINE = 'console=ttyS0 bento.acpi=poweroff';

describe('libvirt hosts next to local in one bentod, from the CLI', () => {
  let lab1: Libvirtd;
  let lab2: Libvirtd;
  let home: string;
  let ns: string[];
  const runs: PtyRun[] = [];
  const disposers: Disposer[] = [];

  /** `bento ARGS` inside the network namespace; never throws on a non-zero exit. */
  const bento = (args: string[], timeoutMs = 120_000): Promise<Result<{ reject: false }>> =>
    execa(ns[0]!, [...ns.slice(1), 'node', BENTO, ...args], { env: { BENTO_HOME: home }, reject: false, timeout: timeoutMs }) as unknown as Promise<Result<{ reject: false }>>;
  const ok = async (args: string[]): Promise<string> => {
    const r = await bento(args);
    expect(r.exitCode, `bento ${args.join(' ')}: ${r.stderr}`).toBe(0);
    return String(r.stdout);
  };

  /** A request to bentod's API over its Unix socket. */
  const api = <T>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> =>
    new Promise((resolve, reject) => {
      const req = http.request({ socketPath: path.join(home, 'bentod.sock'), path: url, method, headers: { 'content-type': 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : null) as T });
        });
      });
      req.on('error', reject);
      req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${url} timed out`)));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  const hosts = async (): Promise<HostInfoView[]> => (await api<HostInfoView[]>('GET', '/api/hosts')).body;
  const host = async (name: string): Promise<HostInfoView | undefined> => (await hosts()).find((h) => h.name === name);
  const vms = async (): Promise<HostVm[]> => (await api<HostVm[]>('GET', '/api/vms')).body;
  const vm = async (name: string): Promise<HostVm | undefined> => (await vms()).find((v) => v.name === name);
  const vmUrl = (name: string): string => `/api/vms/${encodeURIComponent(name)}`;
  const domstate = async (inst: Libvirtd, dom: string): Promise<string> => (await inst.virsh(['domstate', dom])).stdout.trim();

  beforeAll(async () => {
    [lab1, lab2] = await Promise.all([startLibvirtd({ kind: 'socket', name: 'lab1' }), startLibvirtd({ kind: 'tcp', name: 'lab2' })]);
    ns = lab2.netnsExec;
    home = tempHome();
  });
  afterAll(async () => {
    for (const r of runs) r.kill();
    for (const d of disposers) d();
    await cleanupHome(home);
    await stopAllLibvirtd();
  });

  it('adds the hosts (kept in the preferences), connects to both, and refuses bad hosts changing nothing', async () => {
    expect(await ok(['host', 'add', 'lab1', lab1.uri])).toMatch(/^lab1\b/);
    expect(await ok(['host', 'add', 'lab2', lab2.uri])).toMatch(/^lab2\b/);
    const prefs = JSON.parse(fs.readFileSync(path.join(home, 'preferences.json'), 'utf8')) as { hosts?: unknown };
    expect(prefs.hosts).toEqual([{ name: 'lab1', uri: lab1.uri }, { name: 'lab2', uri: lab2.uri }]);
    await waitFor('both hosts connected', async () => (await hosts()).filter((h) => h.state === 'connected').length === 3, 60_000, 100);
    const list = await hosts();
    expect(list.map((h) => [h.name, h.kind, h.uri, h.state])).toEqual([
      ['local', 'local', null, 'connected'],
      ['lab1', 'libvirt', lab1.uri, 'connected'],
      ['lab2', 'libvirt', lab2.uri, 'connected'],
    ]);
    const ls = await ok(['host', 'ls']);
    expect(ls).toMatch(/^NAME\s+KIND\s+URI\s+STATE\s+VMS/m);
    expect(ls).toMatch(new RegExp(`^lab1\\s+libvirt\\s+${lab1.uri.replace(/[?.+]/g, '\\$&')}\\s+connected\\s+0`, 'm'));
    expect(ls).toMatch(/^lab2\s+libvirt\s+qemu\+tcp:\/\/127\.0\.0\.1:\d+\/system\s+connected\s+0/m);

    const before = fs.readFileSync(path.join(home, 'preferences.json'), 'utf8');
    for (const [args, rule] of [
      [['host', 'add', 'local', 'qemu:///system'], /reserved/],
      [['host', 'add', 'lab1', 'qemu:///system'], /already exists/],
      [['host', 'add', 'Bad_Name!', 'qemu:///system'], /name "Bad_Name!" must be 1-32 lower-case letters/],
      [['host', 'add', 'lab9', 'not a uri'], /uri .*must not contain spaces/],
      [['host', 'add', 'lab9', 'qemu+tcp://me:secret@127.0.0.1/system'], /credentials are libvirt's own: SSH agent, TLS certificates or SASL/],
    ] as const) {
      const r = await bento([...args]);
      expect(r.exitCode, `bento ${args.join(' ')}`).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^bento: /);
      expect(lines[0]).toMatch(rule);
      // A password given by mistake is not echoed back.
      expect(r.stderr).not.toContain('secret');
    }
    expect(fs.readFileSync(path.join(home, 'preferences.json'), 'utf8')).toBe(before);
    expect((await hosts()).map((h) => h.name)).toEqual(['local', 'lab1', 'lab2']);
  });

  it('creates the same spec on each host and lists all three with their host', async () => {
    for (const name of ['t1', 'lab1/t1', 'lab2/t1']) {
      await ok(['create', name, '--kernel', G.kernel, '--initrd', G.initrd, '--cmdline', CMDLINE, '--memory', '256M', '--accel', 'tcg', '--network', 'none']);
    }
    // libvirt really has them, with bento's metadata and no NIC.
    for (const inst of [lab1, lab2]) {
      const xml = (await inst.virsh(['dumpxml', 't1'])).stdout;
      expect(xml).toContain("<domain type='qemu'");
      expect(xml).toContain('urn:bento:vm:1');
      expect(xml).toContain(G.kernel);
      expect(xml).not.toContain('<interface');
      expect(await domstate(inst, 't1')).toBe('shut off');
    }
    const ls = await ok(['ls']);
    expect(ls).toMatch(/^HOST\s+NAME\s+STATE/m);
    expect(ls).toMatch(/^local\s+t1\s+stopped/m);
    expect(ls).toMatch(/^lab1\s+t1\s+stopped/m);
    expect(ls).toMatch(/^lab2\s+t1\s+stopped/m);
    const js = JSON.parse(await ok(['ls', '--json'])) as HostVm[];
    const byName = new Map(js.map((v) => [v.name, v]));
    expect(byName.get('t1')).toMatchObject({ host: 'local', backend: 'qemu', reachable: true, libvirt: null });
    expect(byName.get('lab1/t1')).toMatchObject({ host: 'lab1', backend: 'libvirt', reachable: true, accel: 'tcg', memoryMiB: 256, libvirt: { uri: lab1.uri, domain: 't1', foreign: false, persistent: true, id: null } });
    expect(byName.get('lab2/t1')).toMatchObject({ host: 'lab2', backend: 'libvirt', reachable: true, libvirt: { uri: lab2.uri, domain: 't1', foreign: false } });
    const only = JSON.parse(await ok(['ls', '--host', 'lab2', '--json'])) as HostVm[];
    expect(only.map((v) => v.name)).toEqual(['lab2/t1']);
  });

  it('starts them all', async () => {
    await Promise.all(['t1', 'lab1/t1', 'lab2/t1'].map((n) => ok(['start', n])));
    expect(await domstate(lab1, 't1')).toBe('running');
    expect(await domstate(lab2, 't1')).toBe('running');
    const ls = await ok(['ls']);
    for (const h of ['local', 'lab1', 'lab2']) expect(ls).toMatch(new RegExp(`^${h}\\s+t1\\s+running`, 'm'));
    const v = await vm('lab1/t1');
    expect(v?.libvirt?.id).toBeGreaterThan(0);
    expect(v?.startedAt).not.toBeNull();
  });

  /**
   * `bento console NAME` in a pty (inside the namespace): types until the guest's shell answers,
   * detaches with Ctrl-], and checks the exit status and that the terminal modes are as before.
   */
  async function attachAndEcho(name: string): Promise<void> {
    const dir = fs.mkdtempSync(path.join(home, 'pty-'));
    const script = `stty -g > ${dir}/before; node ${BENTO} console ${name}; echo "EXIT=$?"; stty -g > ${dir}/after; sleep 1`;
    const run = runInPty(ns[0]!, [...ns.slice(1), 'bash', '--norc', '--noprofile', '-c', script], { env: { BENTO_HOME: home } });
    runs.push(run);
    await run.waitForScreen('(Ctrl-] to detach)', 20_000);
    // The guest may still be booting: type until its shell answers (the output line, not the echo).
    await waitFor(`the shell of ${name}`, async () => {
      run.write('echo hi$((1+1))\r');
      await new Promise((r) => setTimeout(r, 1500));
      return /^hi2\s*$/m.test(run.screen());
    }, 90_000, 0);
    run.write('\x1d');
    await run.waitForScreen(/EXIT=\d+/, 15_000);
    expect(/EXIT=(\d+)/.exec(run.screen())?.[1]).toBe('0');
    expect(run.screen()).toContain(`detached from ${name}`);
    await waitFor('stty -g after the attach', () => fs.existsSync(`${dir}/after`) && fs.readFileSync(`${dir}/after`, 'utf8').length > 0, 10_000);
    expect(fs.readFileSync(`${dir}/after`, 'utf8')).toBe(fs.readFileSync(`${dir}/before`, 'utf8'));
  }

  it("attaches to a libvirt domain's serial console from `bento console HOST/VM`, types, and detaches with the terminal restored", async () => {
    for (const name of ['lab1/t1', 'lab2/t1']) {
      await attachAndEcho(name);
      // bentod logged what went by in the VM's own folder, as for local VMs: from the boot on, since it
      // keeps the console of a domain it defined open while the domain runs.
      const v = await vm(name);
      expect(v!.dir.startsWith(path.join(home, 'hosts', name.split('/')[0]!) + path.sep)).toBe(true);
      const log = fs.readFileSync(path.join(v!.dir, 'serial.log'), 'utf8');
      expect(log).toContain('hi2');
      expect(log).toContain('Run /init as init process');
      expect((await bento(['logs', name])).stdout).toContain('Run /init as init process');
    }
  });

  it('pauses and resumes on every host', async () => {
    for (const name of ['t1', 'lab1/t1', 'lab2/t1']) {
      expect(await ok(['pause', name])).toMatch(/paused/);
      expect(await ok(['resume', name])).toMatch(/running/);
    }
    await ok(['pause', 'lab2/t1']);
    expect(await domstate(lab2, 't1')).toBe('paused');
    await ok(['resume', 'lab2/t1']);
    expect(await domstate(lab2, 't1')).toBe('running');
  });

  it('shows a `virsh suspend` done outside bento as paused, pushed on /api/events', async () => {
    const seen: { name: string; state: string; at: number }[] = [];
    disposers.push(await client(home).events({ onEvent: (e: StateEvent) => seen.push({ name: e.name, state: e.state, at: performance.now() }) }));
    const delays: number[] = [];
    for (const [inst, name] of [[lab1, 'lab1/t1'], [lab2, 'lab2/t1']] as const) {
      for (const [cmd, state] of [['suspend', 'paused'], ['resume', 'running']] as const) {
        const from = seen.length;
        const r = await inst.virsh([cmd, 't1']);
        const done = performance.now();
        expect(r.code, r.stderr).toBe(0);
        const ev = await waitFor(`${state} event of ${name}`, () => seen.slice(from).find((e) => e.name === name && e.state === state), 5000, 5);
        delays.push(Math.max(0, ev.at - done));
        if (state === 'paused') expect(await ok(['ls'])).toMatch(new RegExp(`^${name.split('/')[0]}\\s+t1\\s+paused`, 'm'));
      }
    }
    console.log(`virsh suspend/resume returned -> state event at bentod's SSE client: ${delays.map((d) => d.toFixed(1)).join(', ')} ms`);
    // The figure to beat is measured in bench/libvirt-events.ts; here only "pushed, not polled".
    for (const d of delays) expect(d).toBeLessThan(1000);
  });

  it('shows a domain defined with `virsh define` without a refresh; a foreign domain is started, paused, stopped, never deleted', async () => {
    const changes: VmChange[] = [];
    disposers.push(await client(home).events({ onEvent: () => {}, onChange: (c) => changes.push(c) }));
    await defineDomain(lab2, guestDomainXml('ext1'));
    const created = await waitFor('the created event of lab2/ext1', () => changes.find((c) => c.kind === 'created' && c.name === 'lab2/ext1'), 5000, 5);
    expect(created.kind === 'created' && (created.vm as HostVm).libvirt?.foreign).toBe(true);
    const js = JSON.parse(await ok(['ls', '--json'])) as HostVm[];
    expect(js.find((v) => v.name === 'lab2/ext1')).toMatchObject({ host: 'lab2', backend: 'libvirt', state: 'stopped', libvirt: { foreign: true, domain: 'ext1' } });

    const xmlBefore = (await lab2.virsh(['dumpxml', '--inactive', 'ext1'])).stdout;
    expect(await ok(['start', 'lab2/ext1'])).toMatch(/running/);
    expect(await domstate(lab2, 'ext1')).toBe('running');
    expect(await ok(['pause', 'lab2/ext1'])).toMatch(/paused/);
    expect(await domstate(lab2, 'ext1')).toBe('paused');
    expect(await ok(['resume', 'lab2/ext1'])).toMatch(/running/);
    // A foreign domain's console opens for a viewer (bento does not hold it otherwise).
    await attachAndEcho('lab2/ext1');
    expect(await ok(['stop', '--force', 'lab2/ext1'])).toMatch(/stopped/);
    expect(await domstate(lab2, 'ext1')).toBe('shut off');
    const rm = await bento(['rm', 'lab2/ext1']);
    expect(rm.exitCode).not.toBe(0);
    expect(rm.stderr).toContain('lab2/ext1 was not created by bento; undefine it with virsh');
    expect((await lab2.virsh(['list', '--all', '--name'])).stdout).toMatch(/^ext1$/m);
    // bento never rewrote its XML.
    expect((await lab2.virsh(['dumpxml', '--inactive', 'ext1'])).stdout).toBe(xmlBefore);
  });

  it('marks a killed libvirtd unreachable within 5 s, keeps the other host working, and reconnects by itself', async () => {
    const t0 = performance.now();
    lab1.kill('SIGKILL');
    await waitFor('lab1 unreachable', async () => (await host('lab1'))?.state === 'unreachable', 5000, 20);
    const noticed = performance.now() - t0;
    const down = (await host('lab1'))!;
    expect(down.reason).toBeTruthy();
    await waitFor("lab1's VMs unreachable", async () => (await vm('lab1/t1'))?.reachable === false, 5000, 20);
    const last = (await vm('lab1/t1'))!;
    expect(last.state).toBe('running'); // the last known state
    const unreachableAt = performance.now() - t0;
    console.log(`kill -9 libvirtd -> host unreachable ${noticed.toFixed(0)} ms, VMs reachable=false ${unreachableAt.toFixed(0)} ms`);
    // Every action on its VMs is refused with the reason, not hung.
    const refused = await bento(['stop', '--force', 'lab1/t1'], 20_000);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toMatch(/lab1 is unreachable/);
    const ls = await ok(['ls']);
    expect(ls).toMatch(/^lab1\s+t1\s+/m);
    expect(ls).toMatch(/^lab2\s+t1\s+running/m);

    // The other host keeps working meanwhile.
    expect(await ok(['start', 'lab2/ext1'])).toMatch(/running/);
    expect(await ok(['stop', '--force', 'lab2/ext1'])).toMatch(/stopped/);
    expect(await domstate(lab2, 'ext1')).toBe('shut off');
    expect((await host('lab2'))?.state).toBe('connected');

    // The guest outlived its libvirtd; bento finds it again when libvirtd is back.
    await lab1.restart();
    const t1 = performance.now();
    await waitFor('lab1 connected again', async () => (await host('lab1'))?.state === 'connected', 30_000, 50);
    await waitFor('lab1/t1 reachable again', async () => (await vm('lab1/t1'))?.reachable === true, 10_000, 50);
    console.log(`libvirtd back -> host connected and VMs reachable in ${(performance.now() - t1).toFixed(0)} ms`);
    expect((await vm('lab1/t1'))!.state).toBe('running');
    expect(await ok(['pause', 'lab1/t1'])).toMatch(/paused/);
    expect(await ok(['resume', 'lab1/t1'])).toMatch(/running/);
  });

  it('stops and deletes on every host; removing a host leaves its domains alone', async () => {
    for (const name of ['t1', 'lab1/t1', 'lab2/t1']) expect(await ok(['stop', '--force', name])).toMatch(/stopped/);
    expect(await domstate(lab1, 't1')).toBe('shut off');
    expect(qemuPids(home)).toEqual([]);
    for (const name of ['t1', 'lab1/t1', 'lab2/t1']) expect(await ok(['rm', name])).toMatch(/deleted/);
    for (const inst of [lab1, lab2]) expect((await inst.virsh(['list', '--all', '--name'])).stdout).not.toMatch(/^t1$/m);
    expect((await api('GET', vmUrl('lab1/t1'))).status).toBe(404);
    expect((await vms()).map((v) => v.name)).toEqual(['lab2/ext1']);

    expect((await bento(['host', 'rm', 'lab2'])).exitCode).toBe(0);
    expect((await hosts()).map((h) => h.name)).toEqual(['local', 'lab1']);
    expect(await vms()).toEqual([]);
    expect((await lab2.virsh(['list', '--all', '--name'])).stdout).toMatch(/^ext1$/m);
    const prefs = JSON.parse(fs.readFileSync(path.join(home, 'preferences.json'), 'utf8')) as { hosts?: unknown };
    expect(prefs.hosts).toEqual([{ name: 'lab1', uri: lab1.uri }]);
    const rmLocal = await bento(['host', 'rm', 'local']);
    expect(rmLocal.exitCode).not.toBe(0);
  });
});
