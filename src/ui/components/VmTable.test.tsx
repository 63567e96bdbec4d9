import { afterEach, describe, expect, test } from 'vitest';
import { fakeVm, fakeVms } from '../fake-client.js';
import { renderApp, type Harness } from '../test/render-app.js';

let h: Harness;
afterEach(() => h?.unmount());

/** The table's rows as "name state" pairs, in screen order. */
function rows(frame: string): string[] {
  return [...frame.matchAll(/^[│║]([ >])(\S+)\s+(\S)\s(\w+)\s.*qemu/gm)].map((m) => `${m[1] === '>' ? '>' : ''}${m[2]} ${m[4]}`);
}

describe('the VM table', () => {
  test('shows every column, coloured states as words and glyphs, and counts in the header', async () => {
    h = await renderApp([
      fakeVm('web', { state: 'running', cpus: 2, memoryMiB: 2048, pid: 10, startedAt: new Date(Date.now() - 125_000).toISOString() }),
      fakeVm('db', { state: 'stopped', memoryMiB: 512 }),
      fakeVm('cache', { state: 'paused', startedAt: new Date().toISOString() }),
    ]);
    const f = h.frame();
    expect(f).toMatch(/NAME↑\s+STATE\s+BACKEND\s+ACCEL\s+CPUS\s+MEMORY\s+UPTIME/);
    expect(f).toMatch(/web\s+● running\s+qemu\s+tcg\s+2\s+2G\s+2m/);
    expect(f).toMatch(/db\s+○ stopped\s+qemu\s+tcg\s+1\s+512M\s+-/);
    expect(f).toMatch(/cache\s+‖ paused/);
    expect(f).toContain('3 VMs · 1 running · 1 paused · 1 stopped');
    expect(f).toContain('● bentod 0.1.0');
    expect(rows(f)).toEqual(['>cache paused', 'db stopped', 'web running']);
  });

  test('renders only the rows that fit, with 1000 VMs, and scrolls with j/k, PgDn, g and G', async () => {
    h = await renderApp(fakeVms(1000));
    const first = rows(h.frame());
    expect(first.length).toBeLessThan(20);
    expect(first[0]).toBe('>vm-0001 stopped');
    expect(h.frame()).toContain('1/1000');
    expect(h.frame()).not.toContain('vm-0500');
    await h.press('G');
    expect(rows(h.frame()).at(-1)).toBe('>vm-1000 stopped');
    expect(h.frame()).toContain('1000/1000');
    await h.press('g', 'j', 'j', '\x1b[B');
    expect(h.frame()).toContain('4/1000');
    await h.press('\x1b[6~');
    const paged = rows(h.frame()).find((r) => r.startsWith('>'));
    expect(Number(paged!.slice(4, 8))).toBeGreaterThan(10);
    await h.press('kkk');
    expect(rows(h.frame()).find((r) => r.startsWith('>'))).toBe(`>vm-${String(Number(paged!.slice(4, 8)) - 3).padStart(4, '0')} stopped`);
  });

  test('/ filters by name as you type; Enter keeps it, Esc clears it, ! inverts', async () => {
    h = await renderApp([fakeVm('web-1'), fakeVm('web-2'), fakeVm('db')]);
    await h.press('/', 'w', 'e');
    expect(h.frame()).toContain('VMs /we▏');
    expect(rows(h.frame())).toEqual(['>web-1 stopped', 'web-2 stopped']);
    await h.press('\r');
    expect(h.frame()).toContain('VMs /we ');
    expect(h.frame()).toContain('of 3');
    await h.press('\x1b');
    expect(rows(h.frame())).toHaveLength(3);
    await h.press('/!web\r');
    expect(rows(h.frame())).toEqual(['>db stopped']);
    await h.press('\x1b', '/zzz');
    expect(h.frame()).toContain('No VM matches /zzz');
  });

  test('keys read together are each handled: /web then Enter then s in one read', async () => {
    h = await renderApp([fakeVm('web'), fakeVm('db')]);
    await h.press('/web\rs');
    await h.waitFor('● running');
    expect(h.client.calls.filter((c) => c.method === 'start').map((c) => c.args[0])).toEqual(['web']);
  });

  test('shift-letter sort keys order the table; the same key again reverses', async () => {
    h = await renderApp([
      fakeVm('a', { cpus: 2, memoryMiB: 4096 }),
      fakeVm('b', { cpus: 8, memoryMiB: 256, state: 'running', startedAt: new Date().toISOString() }),
      fakeVm('c', { cpus: 1, memoryMiB: 1024 }),
    ]);
    await h.press('C');
    expect(rows(h.frame()).map((r) => r.replace('>', '')[0])).toEqual(['c', 'a', 'b']);
    expect(h.frame()).toContain('CPUS↑');
    await h.press('C');
    expect(rows(h.frame()).map((r) => r.replace('>', '')[0])).toEqual(['b', 'a', 'c']);
    expect(h.frame()).toContain('CPUS↓');
    await h.press('M');
    expect(rows(h.frame()).map((r) => r.replace('>', '')[0])).toEqual(['b', 'c', 'a']);
    await h.press('T');
    expect(rows(h.frame())[0]).toContain('b running');
    await h.press('N');
    expect(rows(h.frame()).map((r) => r.replace('>', '')[0])).toEqual(['a', 'b', 'c']);
  });

  test('the selection follows its VM through updates, sorting and new VMs; a deleted one hands it to its neighbour', async () => {
    h = await renderApp([fakeVm('b'), fakeVm('c'), fakeVm('d')]);
    await h.press('j');
    expect(rows(h.frame())).toContain('>c stopped');
    // A VM created elsewhere sorts in above; a state change re-orders under sort-by-state.
    h.client.vms.set('a', fakeVm('a', { state: 'running' }));
    h.client.emit({ name: 'a', state: 'running', previous: 'stopped', reason: null, at: '' });
    await h.waitFor(/a\s+● running/);
    expect(rows(h.frame())).toContain('>c stopped');
    await h.press('T');
    h.client.setState('c', 'running');
    await h.waitFor(/>c\s+● running/);
    expect(rows(h.frame())[1]).toBe('>c running');
    h.store.remove('c');
    await h.waitFor(/>\S+/);
    expect(rows(h.frame()).find((r) => r.startsWith('>'))).toBeDefined();
    expect(h.frame()).not.toMatch(/\bc\s+● running/);
  });

  test('a running guest that answers gets ✓ beside running, one still booting gets ◌; the columns stay put', async () => {
    const live = { state: 'running' as const, pid: 1, startedAt: new Date().toISOString() };
    h = await renderApp([fakeVm('up', { ...live, ready: true }), fakeVm('boot', { ...live, ready: false }), fakeVm('plain', live), fakeVm('off')], { cols: 100 });
    const f = h.frame();
    const line = (name: string): string => f.split('\n').find((l) => l.includes(` ${name} `) || l.includes(`>${name} `))!;
    expect(line('up')).toMatch(/up\s+● running ✓\s+qemu/);
    expect(line('boot')).toMatch(/boot\s+● running ◌\s+qemu/);
    expect(line('plain')).toMatch(/plain\s+● running\s+qemu/);
    expect(line('plain')).not.toMatch(/[✓◌]/);
    // Every row's later columns start in the same place, mark or not.
    const at = ['up', 'boot', 'plain', 'off'].map((n) => line(n).indexOf('qemu'));
    expect(new Set(at).size).toBe(1);
    expect(h.frame()).toMatch(/guest\s+◌ booting: waiting for SSH/);
  });

  test('the details pane shows the image, network, forwarded ports, SSH and readiness', async () => {
    const vm = fakeVm('web', {
      state: 'running',
      pid: 1,
      startedAt: new Date().toISOString(),
      ready: true,
      ssh: { host: '127.0.0.1', port: 40022, user: 'me', identityFile: '/k', knownHostsFile: '/kh', hostKeyAlias: 'bento-web', hostKeysPinned: true },
    });
    vm.spec = {
      ...vm.spec,
      kernel: null,
      initrd: null,
      cmdline: null,
      image: { ref: 'debian-12', sha256: '0123456789ab'.repeat(5) + 'cdef', path: '/cache/x.qcow2', format: 'qcow2' },
      network: 'nat',
      publish: [{ hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80, protocol: 'tcp' }],
      cloudInit: { user: 'me', instanceId: 'i-web' },
    };
    h = await renderApp([vm], { rows: 36 });
    const f = h.frame();
    expect(f).toMatch(/guest\s+✓ ready \(SSH answers, cloud-init finished\)/);
    expect(f).toMatch(/image\s+debian-12 \(0123456789ab\)/);
    expect(f).toMatch(/network\s+nat/);
    expect(f).toMatch(/publish\s+8080:80\/tcp/);
    expect(f).toMatch(/ssh\s+me@127\.0\.0\.1:40022 · keys pinned/);
  });

  test('a pull for a VM not defined yet shows as a dim provisional row until the VM exists', async () => {
    h = await renderApp([fakeVm('a'), fakeVm('b')]);
    const base = { ref: 'debian-12', total: 400_000_000, bytesPerSec: 11_300_000, vm: 'web' };
    h.client.emitImage({ ...base, phase: 'download', received: 168_000_000, etaSeconds: 37 });
    await h.waitFor(/web\s+↓ pulling 42% 11\.3 MB\/s ETA 0:37 · debian-12/);
    expect(h.frame()).toContain('2 VMs · 2 stopped · 1 pulling');
    // Not a VM: the selection and the count stay on the two VMs; j moves among them only.
    expect(h.frame()).toContain('1/2');
    await h.press('j');
    expect(h.frame()).toContain('2/2');
    expect(h.frame()).toMatch(/>b\s+○ stopped/);
    h.client.emitImage({ ...base, phase: 'done', received: 400_000_000, etaSeconds: 0 });
    await h.waitFor('pulled: creating the VM');
    await h.client.create({ name: 'web', image: 'debian-12' });
    await h.waitFor(/web\s+○ stopped/);
    expect(h.frame()).not.toContain('pull');
  });

  test('a pull for a new VM that fails elsewhere drops its row and says why', async () => {
    h = await renderApp([fakeVm('a')]);
    h.client.emitImage({ ref: 'nope-1', phase: 'checksum', received: 0, total: null, bytesPerSec: 0, etaSeconds: null, vm: 'web' });
    await h.waitFor(/web\s+↓ pulling: fetching checksums · nope-1/);
    h.client.emitImage({ ref: 'nope-1', phase: 'error', received: 0, total: null, bytesPerSec: 0, etaSeconds: null, vm: 'web', error: 'no image nope-1 in the catalog' });
    await h.waitFor('✗ web: pulling nope-1 failed: no image nope-1 in the catalog');
    expect(h.frame()).not.toContain('↓ pulling');
  });

  test('the column header stays right under the title when the focus comes and goes', async () => {
    h = await renderApp([fakeVm('web', { state: 'running', pid: 1, startedAt: new Date().toISOString() })], { rows: 24 });
    const header = (): string => h.frame().split('\n')[3] ?? '';
    expect(header()).toContain('NAME↑');
    await h.press('?', 'x', '\r', '\x1d');
    expect(header()).toContain('NAME↑');
  });
});
