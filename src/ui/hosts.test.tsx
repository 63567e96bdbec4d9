// The TUI over several hosts, against the fake bentod: the HOST column, the host filter, each host's
// connection state in the header (pushed as `host` events), dim unreachable rows, the create form's
// host choice, and a libvirt VM's details.
import chalk from 'chalk';
import { afterEach, describe, expect, test } from 'vitest';
import type { CreateRequest, HostInfo, Vm } from '../vm/types.js';
import { FakeClient, fakeHost, fakeLibvirtVm, fakeVm } from './fake-client.js';
import { hostLine } from './host-view.js';
import { renderApp, type Harness } from './test/render-app.js';

let h: Harness | undefined;
afterEach(() => {
  h?.unmount();
  h = undefined;
});

const TAB = '\t';
const RIGHT = '\x1b[C';
const LEFT = '\x1b[D';
const ago = (ms: number): string => new Date(Date.now() - ms).toISOString();
const inMs = (ms: number): string => new Date(Date.now() + ms).toISOString();
const EOF_REASON = 'End of file while reading data: Input/output error';
const escapeRe = (t: string): string => t.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** local web, lab1 web and db, lab3 cache (unreachable); hosts lab1, lab2 (reconnecting), lab3 (unreachable). */
function threeHosts(): FakeClient {
  return new FakeClient(
    [
      fakeVm('web', { state: 'running', pid: 10, startedAt: ago(65_000) }),
      fakeLibvirtVm('lab1', 'web', { state: 'running', startedAt: ago(125_000) }),
      fakeLibvirtVm('lab1', 'db'),
      fakeLibvirtVm('lab3', 'cache', { state: 'running', reachable: false, startedAt: ago(5_000) }),
    ],
    [fakeHost('lab1'), fakeHost('lab2', { state: 'reconnecting', reason: 'Connection refused' }), fakeHost('lab3', { state: 'unreachable', reason: EOF_REASON, retryAt: inMs(3_600) })],
  );
}

/** The table's rows as "host name state" triples, in screen order (`>` marks the selection). */
function rows(frame: string): string[] {
  return [...frame.matchAll(/^[│║]([ >])(\S+)\s+(\S+)\s+\S\s(\w+)\s/gm)].map((m) => `${m[1] === '>' ? '>' : ''}${m[2]} ${m[3]} ${m[4]}`);
}
const headerLine = (frame: string, i: number): string => frame.split('\n')[i] ?? '';
/** Whether the open form has a row with this label. */
const formRow = (frame: string, label: string): boolean => new RegExp(`║ (›| ) ${label}\\s`).test(frame);

describe('several hosts in one table', () => {
  test('HOST comes first, NAME is the name on the host, the header says every host state; unreachable VMs say so', async () => {
    h = await renderApp([], { client: threeHosts(), cols: 160, rows: 30 });
    await h.waitFor('lab3');
    const f = h.frame();
    expect(headerLine(f, 0)).toContain('4 VMs · 2 running · 1 stopped · 1 unreachable');
    // The countdown starts at 4 s; a slow first frame may show less.
    expect(headerLine(f, 1)).toMatch(new RegExp(`^ hosts local ● · lab1 ● connected · lab2 ◌ reconnecting · lab3 ✗ unreachable: ${escapeRe(EOF_REASON)} \\(retry in [1-4]s\\)$`));
    expect(f).toMatch(/HOST\s+NAME↑\s+STATE/);
    expect(rows(f)).toEqual(['>local web running', 'lab1 db stopped', 'lab1 web running', 'lab3 cache unreachable']);
    expect(f).toMatch(/lab3\s+cache\s+✗ unreachable\s/);
    // The host has its column: no row says lab1/web.
    expect(f.split('\n').filter((l) => /^[│║][ >](local|lab\d)\s/.test(l)).join('\n')).not.toContain('lab1/');
  });

  test('the retry countdown runs, and a narrow terminal abbreviates the host line to fit', async () => {
    h = await renderApp([], { client: threeHosts(), cols: 80, rows: 24 });
    await h.waitFor('lab3');
    const m = /^ hosts local ● · lab1 ● · lab2 ◌ reconnecting · lab3 ✗ unreachable \(retry in ([1-4])s\)$/.exec(headerLine(h.frame(), 1));
    expect(m).not.toBeNull();
    await h.waitFor(`(retry in ${Number(m![1]) - 1}s)`, 2500);
    // What each width keeps, from the pure line builder.
    const hosts: HostInfo[] = [fakeHost('local'), fakeHost('lab1'), fakeHost('lab2', { state: 'connecting' }), fakeHost('lab3', { state: 'unreachable', reason: EOF_REASON, retryAt: '2024-01-01T00:00:04.000Z' })];
    const at = Date.parse('2024-01-01T00:00:00.000Z');
    const text = (cols: number): string => hostLine(hosts, cols, at).map((s) => s.text).join('');
    expect(text(200)).toBe(` hosts local ● · lab1 ● connected · lab2 ◌ connecting · lab3 ✗ unreachable: ${EOF_REASON} (retry in 4s)`);
    expect(text(90)).toBe(' hosts local ● · lab1 ● · lab2 ◌ connecting · lab3 ✗ unreachable: End of fi… (retry in 4s)');
    expect(text(80)).toBe(' hosts local ● · lab1 ● · lab2 ◌ connecting · lab3 ✗ unreachable (retry in 4s)');
    expect(text(60)).toBe(' hosts local ● · lab1 ● · lab2 ◌ · lab3 ✗ 4s');
    expect(text(30)).toBe(' hosts 4: 2● 1◌ 1✗');
    for (const cols of [200, 90, 75, 60, 40, 30]) expect(text(cols).length).toBeLessThanOrEqual(cols);
  });

  test('rows of an unreachable host are dim; the others are not', async () => {
    const level = chalk.level;
    chalk.level = 1;
    try {
      h = await renderApp([], { client: threeHosts(), cols: 160, rows: 30 });
      await h.waitFor('lab3');
      const lines = h.frame().split('\n');
      const cache = lines.find((l) => l.includes('cache') && l.includes('unreachable'))!;
      const db = lines.find((l) => l.includes('db') && l.includes('stopped'))!;
      expect(cache).toContain('\x1b[2m');
      expect(db).toBeDefined();
      expect(db).not.toContain('\x1b[2m');
    } finally {
      chalk.level = level;
    }
  });

  test('H cycles the host filter: all, local, lab1, lab2, lab3, all; the title and the header show it; Esc clears it', async () => {
    h = await renderApp([], { client: threeHosts(), cols: 160, rows: 30 });
    await h.waitFor('lab3');
    await h.press('H');
    expect(h.frame()).toContain('VMs on local');
    expect(rows(h.frame())).toEqual(['>local web running']);
    expect(h.frame()).toContain('showing the VMs of local only (H: the next host)');
    await h.press('H');
    expect(h.frame()).toContain('VMs on lab1');
    expect(rows(h.frame())).toEqual(['>lab1 db stopped', 'lab1 web running']);
    expect(h.frame()).toContain('1/2 of 4');
    await h.press('H');
    expect(h.frame()).toContain('VMs on lab2');
    expect(h.frame()).toContain('No VMs on lab2 (H shows the next host, Esc all of them)');
    await h.press('H');
    expect(rows(h.frame())).toEqual(['>lab3 cache unreachable']);
    await h.press('H');
    expect(h.frame()).not.toContain('VMs on');
    expect(rows(h.frame())).toHaveLength(4);
    expect(h.frame()).toContain('showing the VMs of every host');
    await h.press('H', 'H', '\x1b');
    expect(h.frame()).not.toContain('VMs on');
    expect(rows(h.frame())).toHaveLength(4);
  });

  test('the hint bar offers H only when there is more than one host', async () => {
    h = await renderApp([], { client: threeHosts(), cols: 220, rows: 30 });
    await h.waitFor('lab3');
    expect(h.frame().split('\n')[2]).toContain('/ filter  H host  : cmd');
    h.unmount();
    h = await renderApp([fakeVm('web')], { cols: 220, rows: 30 });
    expect(h.frame().split('\n')[1]).toContain('/ filter  : cmd');
  });

  test('host events update the header and the rows: lab3 comes back, lab1 is lost, a host is added and removed', async () => {
    const client = threeHosts();
    h = await renderApp([], { client, cols: 160, rows: 30 });
    await h.waitFor('lab3');
    client.setHostReachable('lab3', true);
    await h.waitFor(/lab3 ● connected/);
    await h.waitFor(/lab3\s+cache\s+● running/);
    client.setHostReachable('lab1', false, { reason: 'Cannot recv data: Connection reset by peer', retryAt: inMs(2_500) });
    await h.waitFor(/lab1 ✗ unreachable: Cannot recv data: Connection reset by peer \(retry in [1-3]s\)/);
    expect(rows(h.frame())).toEqual(['>local web running', 'lab1 db unreachable', 'lab1 web unreachable', 'lab3 cache running']);
    expect(h.frame()).toContain('2 unreachable');
    client.setHost(fakeHost('lab4', { state: 'connecting', since: ago(0) }));
    await h.waitFor('lab4 ◌ connecting');
    client.hostList.delete('lab4');
    client.emitHost({ kind: 'removed', name: 'lab4' });
    await h.waitFor(/^(?![\s\S]*lab4)/);
  });

  test('the hosts are read at start and again on a resync; only local means no HOST column, no host line, and H says why', async () => {
    const client = new FakeClient([fakeVm('web')]);
    h = await renderApp([], { client });
    await h.waitFor('web');
    expect(client.calls.filter((c) => c.method === 'hosts')).toHaveLength(1);
    expect(h.frame()).not.toContain('HOST');
    expect(h.frame()).not.toContain(' hosts ');
    await h.press('H');
    expect(h.frame()).toContain("every VM here is this machine's: bento host add NAME URI adds a libvirt host");
    // A host bentod added while this TUI's events were dropped shows after the resync.
    client.hostList.set('lab1', fakeHost('lab1'));
    client.resync();
    await h.waitFor(' hosts local ● · lab1 ● connected');
    expect(client.calls.filter((c) => c.method === 'hosts')).toHaveLength(2);
    expect(h.frame()).toMatch(/HOST\s+NAME↑/);
  });

  test('the details pane of a libvirt VM shows its host, URI, domain, UUID and whether bento defined it', async () => {
    const foreign: Vm = fakeLibvirtVm('lab1', 'legacy', { state: 'running', startedAt: ago(1000) });
    foreign.libvirt = { ...foreign.libvirt!, foreign: true, id: 7 };
    h = await renderApp([], { client: new FakeClient([foreign], [fakeHost('lab1')]), cols: 160, rows: 34 });
    await h.waitFor('legacy');
    const f = h.frame();
    expect(f).toContain('details · lab1/legacy');
    expect(f).toMatch(/host\s+lab1\s/);
    expect(f).toMatch(/uri\s+qemu\+tcp:\/\/lab1\.lan\/system/);
    expect(f).toMatch(/domain\s+legacy · id 7/);
    expect(f).toContain(`uuid ${foreign.libvirt!.uuid}`);
    expect(f).toMatch(/foreign\s+yes: defined outside bento/);
  });
});

describe('the create form on several hosts', () => {
  test('a host row: on lab1 the image, disk size and publish rows go, the form says why, and the VM is created as lab1/NAME', async () => {
    const client = new FakeClient([fakeVm('web')], [fakeHost('lab1'), fakeHost('lab2')]);
    h = await renderApp([], { client, cols: 110, rows: 34 });
    await h.waitFor('lab2');
    await h.press('n');
    await h.waitFor('New VM');
    expect(h.frame()).toMatch(/host\s+‹ local ›\s+this machine/);
    expect(formRow(h.frame(), 'image')).toBe(true);
    await h.press('vm1', TAB, RIGHT);
    await h.waitFor(/host\s+‹ lab1 ›\s+a libvirt host/);
    let f = h.frame();
    expect(f).toMatch(/boot from\s+‹ kernel \+ initrd ›/);
    expect(formRow(f, 'kernel')).toBe(true);
    for (const gone of ['image', 'disk size', 'publish']) expect(formRow(f, gone), gone).toBe(false);
    expect(f).toMatch(/network\s+‹ nat ›/);
    expect(f).toContain('On lab1 (libvirt) paths are on that host. Cloud images, published ports, shared folders');
    // The boot choices on a libvirt host are its own paths only: ← from kernel wraps to ISO, not to a cloud image.
    await h.press(TAB, LEFT);
    expect(h.frame()).toMatch(/boot from\s+‹ ISO installer ›/);
    await h.press(RIGHT, TAB, '/srv/vmlinuz');
    // To the network row (kernel, initrd, cmdline, cpus, memory, network) and none.
    await h.press(TAB, TAB, TAB, TAB, TAB, RIGHT);
    f = h.frame();
    expect(f).toMatch(/network\s+‹ none ›/);
    await h.press('\r');
    await h.waitFor('created lab1/vm1');
    const req = client.calls.find((c) => c.method === 'create')!.args[0] as CreateRequest;
    expect(req).toEqual({ name: 'lab1/vm1', kernel: '/srv/vmlinuz', cpus: 1, memory: '512M', network: 'none' });
    expect(client.calls.some((c) => c.method === 'pullImage')).toBe(false);
    await h.waitFor(/>lab1\s+vm1\s+○ stopped/);
  });

  test('back on local the image rows return; with one host only there is no host row', async () => {
    const client = new FakeClient([fakeVm('web')], [fakeHost('lab1')]);
    h = await renderApp([], { client, cols: 110, rows: 34 });
    await h.waitFor('lab1');
    await h.press('n', TAB, RIGHT);
    await h.waitFor(/host\s+‹ lab1 ›/);
    expect(formRow(h.frame(), 'disk size')).toBe(false);
    await h.press(RIGHT);
    await h.waitFor(/host\s+‹ local ›/);
    expect(h.frame()).not.toContain('(libvirt)');
    // The boot source stays what lab1 made it; local offers the disk size again, and the cloud image.
    expect(h.frame()).toMatch(/boot from\s+‹ kernel \+ initrd ›/);
    expect(formRow(h.frame(), 'disk size')).toBe(true);
    await h.press(TAB, LEFT);
    await h.waitFor(/boot from\s+‹ cloud image ›/);
    for (const back of ['image', 'disk size', 'network', 'publish']) expect(formRow(h.frame(), back), back).toBe(true);
    h.unmount();
    h = await renderApp([fakeVm('web')], { cols: 110, rows: 34 });
    await h.press('n');
    await h.waitFor('New VM');
    expect(formRow(h.frame(), 'name')).toBe(true);
    expect(formRow(h.frame(), 'host')).toBe(false);
  });
});

test('a domain name with a C1 control (libvirt accepts U+009B) reaches the screen as U+FFFD, in the row and the details title', async () => {
  const evil = fakeLibvirtVm('lab1', 'ev\u009b2Jil');
  h = await renderApp([], { client: new FakeClient([evil], [fakeHost('lab1')]), cols: 160, rows: 30 });
  await h.waitFor('ev\ufffd2Jil');
  const f = h.frame();
  expect(f).not.toMatch(/[\u0080-\u009f]/);
  expect(f).toMatch(/lab1\s+ev\ufffd2Jil\s/);
  expect(f).toContain('details · lab1/ev\ufffd2Jil');
});
