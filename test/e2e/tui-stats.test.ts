import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENTO, bento, cleanupHome, createGuest, tempHome, typeSerial, waitFor, waitForLog } from '../helpers/bento.js';
import { runInPty, type PtyRun } from '../helpers/pty.js';

const COLS = 160;
const ROWS = 40;
/** The table's width beside the details pane (48 columns) at COLS. */
const TABLE_COLS = COLS - 48;

/** The visible screen only (the pty helper also returns the scrollback). */
function visible(tui: PtyRun): string[] {
  return tui.screen().split('\n').slice(-ROWS);
}

/** The CPU column of a VM's row in the table, or null while it shows none. */
function cpuOf(tui: PtyRun, name: string): number | null {
  const row = visible(tui).find((l) => new RegExp(`^[│║][ >]${name}\\s`).test(l));
  // Only the table's part of the line: the details pane beside it has a CPU line of its own.
  const m = row ? /\s(\d+(?:\.\d)?)%\s/.exec(row.slice(0, TABLE_COLS)) : null;
  return m ? Number(m[1]) : null;
}

/** CPU seconds qemu has used so far (utime + stime of /proc/PID/stat), to say what the host gave it. */
function qemuCpuSeconds(pid: number): number {
  const rest = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100;
}

// The real TUI against two real test guests, one spinning a shell loop and one idle; then dd in the
// idle one (its 64 MiB disk is /dev/vda) shows in the details pane. One boot per guest.
describe('live figures in the TUI', () => {
  let home: string;
  let tui: PtyRun;
  const pids: Record<string, number> = {};
  beforeAll(async () => {
    home = tempHome();
    await createGuest(home, 'busy');
    await createGuest(home, 'idle', { extra: ['--disk-size', '64M'] });
    for (const name of ['busy', 'idle']) {
      const r = await bento(home, ['start', name]);
      expect(r.exitCode, r.stderr).toBe(0);
    }
    for (const name of ['busy', 'idle']) await waitForLog(home, name, 'BENTO-GUEST-READY', 120_000);
    const ls = JSON.parse((await bento(home, ['ls', '--json'])).stdout) as Array<{ name: string; pid: number }>;
    for (const v of ls) pids[v.name] = v.pid;
    tui = runInPty('node', [BENTO], { env: { BENTO_HOME: home }, cols: COLS, rows: ROWS });
    await tui.waitForScreen(/idle\s+● running/, 30_000);
  });
  afterAll(async () => {
    tui?.kill();
    await cleanupHome(home);
  });

  it('a guest spinning a CPU loop shows >= 80% within 3 s, an idle one < 10%', async () => {
    // The idle guest settles after its boot before anything is measured.
    await waitFor('the idle guest to show a CPU figure under 10%', () => (cpuOf(tui, 'idle') ?? 100) < 10, 30_000, 200);
    const before = qemuCpuSeconds(pids.busy!);
    const t0 = Date.now();
    await typeSerial(home, 'busy', 'while :; do :; done &\n');
    const seen: Array<[number, number | null, number | null]> = [];
    let got = false;
    while (Date.now() - t0 < 3_000) {
      const busy = cpuOf(tui, 'busy');
      const idle = cpuOf(tui, 'idle');
      seen.push([Date.now() - t0, busy, idle]);
      if (busy !== null && busy >= 80 && idle !== null && idle < 10) {
        got = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // What the host actually gave the busy qemu over those seconds, so a failure says whether the
    // figure was wrong or the machine had no core to spare.
    const hostGave = ((qemuCpuSeconds(pids.busy!) - before) / ((Date.now() - t0) / 1000)) * 100;
    const last = seen.at(-1)!;
    expect(got, `busy/idle CPU columns over 3 s: ${JSON.stringify(seen.filter((_, i) => i % 5 === 0 || i === seen.length - 1))}; /proc says qemu of busy used ${hostGave.toFixed(0)}% of a core since the loop started\n${visible(tui).join('\n')}`).toBe(true);
    expect(last[1]).toBeGreaterThanOrEqual(80);
    expect(last[2]).toBeLessThan(10);
    // The sparkline of the busy one has a full block in it by now.
    expect(visible(tui).find((l) => /^[│║][ >]busy\s/.test(l))).toMatch(/\d+%\s+[▁▂▃▄▅▆▇█ ]*[▇█]/);
  });

  it('dd in a guest shows a disk write rate in the details pane, and the network line says why it has none', async () => {
    // Select idle (rows are sorted by name: busy, idle).
    tui.write('j');
    await tui.waitForScreen(/details · idle/, 10_000);
    await typeSerial(home, 'idle', 'for i in 1 2 3 4 5 6 7 8; do dd if=/dev/zero of=/dev/vda bs=1M count=64 oflag=direct 2>/dev/null; done; echo DD-DONE\n');
    await tui.waitForScreen(/disk io\s+read \S+ · write \d+(\.\d)?[KMG]\/s/, 60_000);
    const screen = visible(tui).join('\n');
    // The reason is shown once, wrapped in the pane.
    expect(screen).toMatch(/net io\s+n\/a: QEMU user networking keeps no\s*│\n.*││\s+counters\s/);
    // The guest's own view through the balloon: used/total, total a bit under its 256M (the kernel keeps some).
    expect(screen).toMatch(/in guest\s+\d+(\.\d)?M\/2\d\dM used/);
    expect(screen).toMatch(/cpu\s+\d+(\.\d)?%\s+[▁▂▃▄▅▆▇█ ]+/);
    expect(screen).toMatch(/memory\s+\d+(\.\d)?M on the host/);
  });

  it('bento ls --json carries the guest\'s own memory (through the balloon) once the guest reports', async () => {
    type Row = { name: string; stats: { guestMemTotalBytes: number | null; guestMemUsedBytes: number | null } | null };
    // Both guests booted before this test; QEMU polls the balloon every 2 s.
    const idle = await waitFor('guest memory figures for idle in ls --json', async () => {
      const rows = JSON.parse((await bento(home, ['ls', '--json'])).stdout) as Row[];
      const row = rows.find((r) => r.name === 'idle');
      return row?.stats?.guestMemTotalBytes != null ? row.stats : null;
    }, 15_000, 500);
    // 256 MiB of RAM: the guest's MemTotal is somewhat less (the kernel's own reservations).
    expect(idle.guestMemTotalBytes).toBeGreaterThan(150 * 2 ** 20);
    expect(idle.guestMemTotalBytes).toBeLessThanOrEqual(256 * 2 ** 20);
    expect(idle.guestMemUsedBytes).toBeGreaterThan(0);
    expect(idle.guestMemUsedBytes).toBeLessThan(idle.guestMemTotalBytes!);
  });
});
