import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupHome, createGuest, tempHome } from '../helpers/bento.js';
import { openTui, type PtyRun } from '../helpers/pty.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

// h hands the terminal to `bento ssh NAME`; until a guest can be reached the TUI says why instead.
// The test guest has no sshd and no cloud-init, so its host keys are never pinned: the refusals are
// what a real VM shows while it boots. (Sessions into cloud images are tested with the image cache.)
describe('h (ssh) in the TUI', () => {
  let home: string;
  const runs: PtyRun[] = [];
  beforeAll(async () => {
    home = tempHome();
    await createGuest(home, 'gamma');
    await createGuest(home, 'delta', { extra: ['--network', 'none'] });
  });
  afterAll(async () => {
    for (const r of runs) r.kill();
    await cleanupHome(home);
  });

  it('refuses with the reason: not running, no network, host keys not pinned yet (an unseeded guest is not marked booting)', async () => {
    const tui = openTui(home);
    runs.push(tui);
    await tui.waitForScreen(/delta\s+○?\s*stopped/);
    await tui.waitForScreen('h ssh');

    // delta (first row): stopped, then running without a network.
    tui.write('h');
    await tui.waitForScreen('delta is not running: s starts it', 10_000);
    tui.write('s');
    await tui.waitForScreen(/delta\s+\S*\s*running/, 30_000);
    await pause(300);
    tui.write('h');
    await tui.waitForScreen('delta has no network (network none): it cannot be reached over SSH', 10_000);
    tui.write('K');
    await tui.waitForScreen(/force stop/i, 10_000);
    tui.write('y');
    await tui.waitForScreen(/delta\s+\S*\s*stopped/, 30_000);

    // gamma: running with a forwarded SSH port that nothing has answered on yet.
    tui.write('j');
    await pause(200);
    tui.write('s');
    await tui.waitForScreen(/gamma\s+● running/, 30_000);
    await tui.waitForScreen(/ssh\s+127\.0\.0\.1:\d+ · keys not/, 10_000);
    // No seed: nothing says an SSH server is coming, so the row is not marked booting forever.
    expect(tui.screen()).not.toMatch(/gamma\s+● running ◌/);
    expect(tui.screen()).not.toMatch(/guest\s+◌ booting/);
    tui.write('h');
    await tui.waitForScreen('gamma is still booting: its SSH host keys are not known yet', 10_000);
    tui.write('K');
    await tui.waitForScreen(/force stop/i, 10_000);
    tui.write('y');
    await tui.waitForScreen(/gamma\s+\S*\s*stopped/, 30_000);

    tui.write('q');
    await tui.exited;
  });
});
