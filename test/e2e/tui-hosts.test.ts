// Must show (issue 12), "from the TUI": two libvirt hosts plus local in the real TUI, in a pty, against
// libvirtd instances this test starts. A VM is created on a libvirt host from the new-VM form, started,
// paused and resumed with keys, paused from outside with `virsh suspend` (the TUI follows), its serial
// console opened in the pane (typed into, echoed, left with Ctrl-]), stopped and deleted; then the same
// on the second libvirt host and on local, all in one table with the right HOST.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, client, createGuest, guest, tempHome, waitFor } from '../helpers/bento.js';
import { openTui, type PtyRun } from '../helpers/pty.js';
import type { HostInfo } from '../../src/vm/types.js';
import { startLibvirtd, type Libvirtd } from '../helpers/libvirtd.js';

// The tcp kind of libvirtd (its own network namespace) is covered by test/integration/libvirt-hosts.test.ts;
// here both hosts are socket instances so the TUI's bentod needs no network namespace.
const TAB = '\t';
const RIGHT = '\x1b[C';
const ENTER = '\r';
const CTRL_U = '\x15';
const ESCAPE_KEY = '\x1d';
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A table row of `name` on `host` in `state` (the state after its glyph). */
const row = (host: string, name: string, state: string): RegExp => new RegExp(`${host}\\s+${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s+\\S*\\s*${state}`);

describe('two libvirt hosts and local in the TUI', () => {
  let home: string;
  const hosts: Record<string, Libvirtd> = {};
  const runs: PtyRun[] = [];
  // The host row of the form cycles local, lab1, lab2: this many → from local.
  const STEPS: Record<string, number> = { lab1: 1, lab2: 2 };

  beforeAll(async () => {
    home = tempHome();
    hosts.lab1 = await startLibvirtd({ kind: 'socket', name: 'lab1' });
    hosts.lab2 = await startLibvirtd({ kind: 'socket', name: 'lab2' });
    for (const [name, inst] of Object.entries(hosts)) {
      const r = await bento(home, ['host', 'add', name, inst.uri]);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    // The first connection to a fresh libvirtd takes about 12 s while it probes qemu.
    await waitFor('lab1 and lab2 connected', async () => {
      const r = await bento(home, ['host', 'ls', '--json']);
      const list = JSON.parse(r.stdout) as HostInfo[];
      return ['lab1', 'lab2'].every((n) => list.find((h) => h.name === n)?.state === 'connected');
    }, 90_000, 500);
    await createGuest(home, 'loc-one');
  }, 180_000);

  afterAll(async () => {
    for (const r of runs) r.kill();
    await cleanupHome(home);
    for (const inst of Object.values(hosts)) {
      // Whatever a failed step left behind goes with its libvirtd.
      for (const d of ['lv-one', 'lv-two']) {
        await inst.virsh(['destroy', d]).catch(() => undefined);
        await inst.virsh(['undefine', d]).catch(() => undefined);
      }
      await inst.stop();
    }
  }, 60_000);

  /** Fills the new-VM form for `host` with the test guest's kernel, no network, 256M, and sends it. */
  async function createFromForm(tui: PtyRun, host: string, name: string): Promise<void> {
    const g = guest();
    tui.write('n');
    await tui.waitForScreen('New VM', 10_000);
    tui.write(name);
    tui.write(TAB);
    for (let i = 0; i < STEPS[host]!; i++) tui.write(RIGHT);
    await tui.waitForScreen(new RegExp(`host\\s+‹ ${host} ›`), 10_000);
    // On a libvirt host the form boots a kernel from that host's paths and says what it cannot offer.
    await tui.waitForScreen(/boot from\s+‹ kernel \+ initrd ›/, 10_000);
    await tui.waitForScreen(`On ${host} (libvirt) paths are on that host`, 10_000);
    // boot, kernel, initrd, cmdline, cpus, memory, network.
    tui.write(TAB + TAB);
    tui.write(g.kernel);
    tui.write(TAB);
    tui.write(g.initrd);
    tui.write(TAB);
    tui.write('console=ttyS0 bento.acpi=poweroff');
    tui.write(TAB + TAB + CTRL_U + '256M');
    tui.write(TAB + RIGHT);
    await tui.waitForScreen(/network\s+‹ none ›/, 10_000);
    tui.write(ENTER);
    await tui.waitForScreen(`created ${host}/${name}`, 60_000);
    await tui.waitForScreen(row(host, name, 'stopped'), 20_000);
  }

  const domains = async (host: string): Promise<string[]> => (await hosts[host]!.virsh(['list', '--all', '--name'])).stdout.split('\n').map((l) => l.trim()).filter(Boolean);

  it('creates a VM on lab1 from the form, drives it with keys, follows virsh suspend, types into its console pane, deletes it', async () => {
    const tui = openTui(home);
    runs.push(tui);
    await tui.waitForScreen(/hosts local ● · lab1 ● .*lab2 ●/, 30_000);
    await tui.waitForScreen(row('local', 'loc-one', 'stopped'), 20_000);
    await createFromForm(tui, 'lab1', 'lv-one');
    expect(await domains('lab1')).toContain('lv-one');
    expect(await domains('lab2')).not.toContain('lv-one');
    const vm = await client(home).get('lab1/lv-one');
    expect(vm).toMatchObject({ host: 'lab1', backend: 'libvirt', reachable: true, libvirt: { domain: 'lv-one', foreign: false } });
    expect(vm.spec.network).toBe('none');

    // s starts it (the new VM is selected); Enter opens its console pane at once, so the boot shows there.
    tui.write('s');
    await tui.waitForScreen(row('lab1', 'lv-one', 'running'), 60_000);
    tui.write(ENTER);
    await tui.waitForScreen('console · lab1/lv-one', 15_000);
    // Typed until the guest's shell answers (input typed before it runs is not read).
    const deadline = Date.now() + 150_000;
    while (!tui.screen().includes('LV-42')) {
      if (Date.now() > deadline) throw new Error(`the guest never echoed LV-42; screen:\n${tui.screen()}`);
      tui.write('echo LV-$((6*7))\r');
      await pause(5_000);
    }
    tui.write(ESCAPE_KEY);
    await tui.waitForScreen('s start', 10_000);

    // p pauses, p resumes, from the table.
    tui.write('p');
    await tui.waitForScreen(row('lab1', 'lv-one', 'paused'), 20_000);
    tui.write('p');
    await tui.waitForScreen(row('lab1', 'lv-one', 'running'), 20_000);

    // Paused from outside bento: the lifecycle event reaches the TUI without a refresh.
    const t0 = Date.now();
    await hosts.lab1!.virsh(['suspend', 'lv-one']);
    await tui.waitForScreen(row('lab1', 'lv-one', 'paused'), 5_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
    tui.write('p');
    await tui.waitForScreen(row('lab1', 'lv-one', 'running'), 20_000);

    // S: the guest honours the power button.
    tui.write('S');
    await tui.waitForScreen(row('lab1', 'lv-one', 'stopped'), 90_000);
    expect((await client(home).get('lab1/lv-one')).state).toBe('stopped');

    // D asks first; y undefines the domain.
    tui.write('D');
    await tui.waitForScreen('Delete lab1/lv-one?', 10_000);
    tui.write('y');
    await tui.waitForScreen('deleted lab1/lv-one', 30_000);
    await waitFor('lv-one undefined on lab1', async () => !(await domains('lab1')).includes('lv-one'), 20_000, 250);
    expect((await client(home).list()).some((v) => v.name === 'lab1/lv-one')).toBe(false);
    tui.write('q');
    expect((await tui.exited).exitCode).toBe(0);
  }, 420_000);

  it('the same on lab2 and on local: one table with the right HOST; create, start, pause, resume, stop, delete with keys', async () => {
    const tui = openTui(home);
    runs.push(tui);
    await tui.waitForScreen(row('local', 'loc-one', 'stopped'), 30_000);
    await createFromForm(tui, 'lab2', 'lv-two');
    expect(await domains('lab2')).toContain('lv-two');
    // Both hosts' VMs in one table, each under its own host.
    expect(tui.screen()).toMatch(row('local', 'loc-one', 'stopped'));
    expect(tui.screen()).toMatch(row('lab2', 'lv-two', 'stopped'));

    for (const [host, name] of [['lab2', 'lv-two'], ['local', 'loc-one']] as const) {
      // The filter matches HOST/NAME, so it selects exactly this VM.
      tui.write(`/${host === 'local' ? name : `${host}/${name}`}${ENTER}`);
      await pause(300);
      tui.write('s');
      await tui.waitForScreen(row(host, name, 'running'), 60_000);
      // Give the guest time to boot far enough to honour the power button.
      await pause(15_000);
      tui.write('p');
      await tui.waitForScreen(row(host, name, 'paused'), 20_000);
      tui.write('p');
      await tui.waitForScreen(row(host, name, 'running'), 20_000);
      tui.write('S');
      await tui.waitForScreen(row(host, name, 'stopped'), 90_000);
      const full = host === 'local' ? name : `${host}/${name}`;
      tui.write('D');
      await tui.waitForScreen(`Delete ${full}?`, 10_000);
      tui.write('y');
      await tui.waitForScreen(`deleted ${full}`, 30_000);
      await waitFor(`${full} gone`, async () => !(await client(home).list()).some((v) => v.name === full), 20_000, 250);
      tui.write('\x1b');
      await pause(300);
    }
    expect(await domains('lab2')).not.toContain('lv-two');
    tui.write('q');
    expect((await tui.exited).exitCode).toBe(0);
  }, 420_000);
});
