// Snapshots and suspend to disk from the TUI's keys, against a real guest: `v` takes a snapshot with
// RAM, `V` lists it and restores it after a confirmation, `z` suspends to disk, `s` resumes. A value
// held only in a guest shell variable says which instant the guest is at.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENTO, bento, cleanupHome, client, createGuest, serialLog, tempHome, typeSerial, waitFor, waitForLog } from '../helpers/bento.js';
import { runInPty, type PtyRun } from '../helpers/pty.js';

describe('snapshots and suspend from the TUI (real guest)', () => {
  let home: string;
  const runs: PtyRun[] = [];
  beforeAll(async () => {
    home = tempHome();
    await createGuest(home, 'keep', { extra: ['--disk-size', '32M'] });
    const s = await bento(home, ['start', 'keep']);
    expect(s.exitCode, s.stderr).toBe(0);
    await waitForLog(home, 'keep', 'BENTO-GUEST-READY', 120_000);
  }, 180_000);
  afterAll(async () => {
    for (const r of runs) r.kill();
    await cleanupHome(home);
  });

  /** Asks the guest's shell for X and waits for the answer, marked with a fresh tag. */
  async function guestX(tag: string): Promise<string> {
    const from = serialLog(home, 'keep').length;
    await typeSerial(home, 'keep', `echo ${tag}-"X"=$X\n`);
    await waitForLog(home, 'keep', `${tag}-X=`, 30_000, from);
    // The typed line echoes as `tag-"X"=$X`: only the shell's answer has `tag-X=`.
    return new RegExp(`${tag}-X=(\\S*)`).exec(serialLog(home, 'keep').slice(from))?.[1] ?? '';
  }

  it('v takes a snapshot, V restores it after asking; z suspends to disk and s resumes at the same instant', async () => {
    await typeSerial(home, 'keep', 'X=at-snapshot\n');
    expect(await guestX('a')).toBe('at-snapshot');

    const tui = runInPty('node', [BENTO], { env: { BENTO_HOME: home }, cols: 120, rows: 40 });
    runs.push(tui);
    await tui.waitForScreen(/keep\s+\S*\s*running/, 20_000);

    tui.write('v');
    await tui.waitForScreen(/keep: snapshot (snap-\d{8}-\d{6}) taken \(RAM/, 60_000);
    const tag = /keep: snapshot (snap-\d{8}-\d{6}) taken/.exec(tui.screen())![1]!;
    expect((await client(home).snapshots('keep')).map((s) => s.tag)).toEqual([tag]);

    await typeSerial(home, 'keep', 'X=after-snapshot\n');
    expect(await guestX('b')).toBe('after-snapshot');

    tui.write('V');
    await tui.waitForScreen(tag, 10_000);
    tui.write('\r');
    await tui.waitForScreen(`Restore keep to ${tag}?`, 10_000);
    tui.write('y');
    await tui.waitForScreen(`keep: restored ${tag}; keep is running`, 60_000);
    expect(await guestX('c')).toBe('at-snapshot');

    // Esc closes the chooser; z only once it is gone (an Esc and a z read together are Alt-z).
    tui.write('\x1b');
    await waitFor('the snapshot chooser to close', () => !tui.screen().includes('Snapshots · keep'), 10_000);
    await new Promise((r) => setTimeout(r, 200));
    tui.write('z');
    await tui.waitForScreen(/keep\s+○?\s*stopped·saved/, 120_000);
    await tui.waitForScreen(/keep is saved to disk \(\d/, 10_000);
    const saved = await client(home).get('keep');
    expect(saved).toMatchObject({ state: 'stopped', reason: 'saved', pid: null });
    expect(saved.savedState?.bytes).toBeGreaterThan(0);

    tui.write('s');
    await tui.waitForScreen('keep resumed from its saved state: running', 120_000);
    expect((await client(home).get('keep')).savedState).toBeNull();
    expect(await guestX('d')).toBe('at-snapshot');

    tui.write('q');
    expect((await tui.exited).exitCode).toBe(0);
  }, 400_000);
});
