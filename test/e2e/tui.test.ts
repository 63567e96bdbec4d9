import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, client, createGuest, guest, tempHome, waitFor, waitForLog } from '../helpers/bento.js';
import { openTui, type PtyRun } from '../helpers/pty.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the TUI, driven from the keyboard like a person would', () => {
  let home: string;
  const runs: PtyRun[] = [];
  beforeAll(async () => {
    home = tempHome();
    await createGuest(home, 'alpha');
    await createGuest(home, 'beta');
  });
  afterAll(async () => {
    for (const r of runs) r.kill();
    await cleanupHome(home);
  });

  it('starts, opens the console pane, attaches, stops, deletes, and quits leaving VMs running', async () => {
    const tui = openTui(home);
    runs.push(tui);
    await tui.waitForScreen(/alpha\s+○?\s*stopped/);
    await tui.waitForScreen('beta');

    // s on the first row starts alpha: starting, then running, pushed by events.
    tui.write('s');
    await tui.waitForRaw('starting', 20_000);
    await tui.waitForScreen(/alpha\s+\S*\s*running/, 30_000);
    await waitForLog(home, 'alpha', 'BENTO-GUEST-READY', 120_000);

    // Enter opens the console pane; what we type reaches the guest and its answer is on screen.
    tui.write('\r');
    await tui.waitForScreen('console · alpha', 15_000);
    await pause(500);
    tui.write('echo E2E-$((7*6))\r');
    await tui.waitForScreen('E2E-42', 20_000);
    tui.write('\x1d');
    await tui.waitForScreen('s start', 10_000);

    // a hands the whole terminal to the console; Ctrl-] comes back to the same view.
    tui.write('a');
    await tui.waitForScreen('[bento] connected to alpha', 15_000);
    tui.write('echo ATT-$((2*2))\r');
    await tui.waitForScreen('ATT-4', 20_000);
    tui.write('\x1d');
    await tui.waitForScreen('s start', 15_000);
    await tui.waitForScreen(/alpha\s+\S*\s*running/);

    // beta: move down, start it; it must still be running after q.
    tui.write('j');
    await pause(200);
    tui.write('s');
    await tui.waitForScreen(/beta\s+\S*\s*running/, 30_000);

    // Back on alpha: S stops it gracefully (the guest honours the power button).
    tui.write('k');
    await pause(200);
    tui.write('S');
    await tui.waitForScreen(/alpha\s+\S*\s*stopped/, 60_000);
    expect((await client(home).get('alpha')).reason).toBe('guest-shutdown');

    // D asks first; y deletes.
    tui.write('D');
    await tui.waitForScreen(/delete/i, 10_000);
    tui.write('y');
    await waitFor('alpha to be deleted', async () => !(await client(home).list()).some((v) => v.name === 'alpha'), 20_000);

    tui.write('q');
    const exit = await tui.exited;
    expect(exit.exitCode).toBe(0);
    const ls = await bento(home, ['ls', '--json']);
    const vms = JSON.parse(ls.stdout) as { name: string; state: string }[];
    expect(vms.map((v) => [v.name, v.state])).toEqual([['beta', 'running']]);
  });

  it('the create form shows the API field errors beside the fields and creates nothing', async () => {
    const before = (await client(home).list()).map((v) => v.name);
    const tui = openTui(home);
    runs.push(tui);
    await tui.waitForScreen('beta');
    tui.write('n');
    await tui.waitForScreen('letters, digits', 10_000);
    tui.write('../x');
    // name → boot from (a cloud image by default) → kernel + initrd → its kernel field
    tui.write('\t');
    await tui.waitForScreen('‹ cloud image ›', 10_000);
    tui.write('\x1b[C');
    await tui.waitForScreen('‹ kernel + initrd ›', 10_000);
    tui.write('\t');
    tui.write(guest().kernel);
    // kernel → initrd → cmdline → cpus → memory
    tui.write('\t\t\t\t');
    // The field starts with the default 512M: Ctrl-U clears it, as in a shell.
    tui.write('\x150');
    tui.write('\r');
    await tui.waitForScreen(/must be letters and digits/, 15_000);
    await tui.waitForScreen(/must be from 64M/, 15_000);
    expect((await client(home).list()).map((v) => v.name)).toEqual(before);
    tui.write('\x1b');
    await pause(300);
    tui.write('q');
    expect((await tui.exited).exitCode).toBe(0);
  });

  it('opens 1000 VM definitions and scrolls to the end and back', async () => {
    const c = client(home);
    const g = guest();
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, k) => c.create({ name: `vm-${String(i + k).padStart(4, '0')}`, kernel: g.kernel, accel: 'tcg' })),
      );
    }
    const tui = openTui(home);
    runs.push(tui);
    await tui.waitForScreen(/1001 VMs/, 30_000);
    await tui.waitForScreen('vm-0000');
    tui.write('G');
    await tui.waitForScreen('vm-0999', 10_000);
    tui.write('g');
    await tui.waitForScreen(/>\s*beta/, 10_000);
    tui.write('q');
    expect((await tui.exited).exitCode).toBe(0);
  });
});
