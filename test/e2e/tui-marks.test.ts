import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vmDir } from '../../src/vm/paths.js';
import { bento, cleanupHome, client, createGuest, tempHome, waitFor, waitForLog } from '../helpers/bento.js';
import { openTui, type PtyRun } from '../helpers/pty.js';

const state = async (home: string, name: string): Promise<string> => (await client(home).get(name)).state;

describe('marks, the : command line and clone, in the real TUI against real guests', () => {
  let home: string;
  const runs: PtyRun[] = [];
  beforeAll(async () => {
    home = tempHome();
    // alpha and beta boot once each; gamma is cloned while stopped, and its clone boots.
    await createGuest(home, 'alpha');
    await createGuest(home, 'beta');
    await createGuest(home, 'gamma', { extra: ['--disk-size', '32M'] });
    const [a, b] = await Promise.all([bento(home, ['start', 'alpha']), bento(home, ['start', 'beta'])]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    for (const r of runs) r.kill();
    await cleanupHome(home);
  });

  it('Space marks two running VMs and S stops both after one confirmation', async () => {
    await Promise.all([waitForLog(home, 'alpha', 'BENTO-GUEST-READY', 180_000), waitForLog(home, 'beta', 'BENTO-GUEST-READY', 180_000)]);
    const tui = openTui(home);
    runs.push(tui);
    await tui.waitForScreen(/alpha\s+\S*\s*running/, 20_000);
    // The cursor is on alpha: Space marks it and moves to beta, Space marks beta.
    tui.write(' ');
    await tui.waitForScreen('1 marked', 10_000);
    tui.write(' ');
    await tui.waitForScreen('2 marked', 10_000);
    tui.write('S');
    await tui.waitForScreen(/stop 2 VMs\?/, 10_000);
    await tui.waitForScreen('stop: alpha, beta.', 10_000);
    tui.write('y');
    await waitFor('alpha and beta stopped', async () => (await state(home, 'alpha')) === 'stopped' && (await state(home, 'beta')) === 'stopped', 90_000, 500);
    await tui.waitForScreen(/alpha\s+\S*\s*stopped/, 20_000);
    await tui.waitForScreen(/beta\s+\S*\s*stopped/, 20_000);
    expect(tui.screen()).not.toContain('marked');
  }, 240_000);

  it(':start and :stop NAME run the bento command and show its output', async () => {
    const tui = runs[0]!;
    tui.write(':');
    await tui.waitForScreen('run it (any bento command)', 10_000);
    tui.write('start alpha\r');
    await tui.waitForScreen(/alpha running \(pid \d+/, 60_000);
    expect(await state(home, 'alpha')).toBe('running');
    tui.write(':stop alpha\r');
    await tui.waitForScreen('alpha stopped', 90_000);
    expect(await state(home, 'alpha')).toBe('stopped');
    // An interactive command is refused with the key to use instead.
    tui.write(':console alpha\r');
    await tui.waitForScreen('the console is interactive: Enter opens it in a pane', 10_000);
  }, 180_000);

  it('c clones a stopped VM under a new name; the clone has its own disk and boots', async () => {
    const tui = runs[0]!;
    // gamma is the third row.
    tui.write('G');
    await tui.waitForScreen(/>\s*gamma/, 10_000);
    tui.write('c');
    await tui.waitForScreen('Clone gamma', 10_000);
    await tui.waitForScreen('gamma-2', 10_000);
    tui.write('\r');
    await tui.waitForScreen('cloned gamma as gamma-2', 60_000);
    const [src, copy] = await Promise.all([client(home).get('gamma'), client(home).get('gamma-2')]);
    const disk = copy.spec.disks[0]!.path;
    expect(path.dirname(disk)).toBe(vmDir(home, 'gamma-2'));
    expect(fs.statSync(disk).ino).not.toBe(fs.statSync(src.spec.disks[0]!.path).ino);
    expect(copy.spec.mac).not.toBe(src.spec.mac);
    // The clone is selected: s starts it, and it boots.
    tui.write('s');
    await tui.waitForScreen(/gamma-2\s+\S*\s*running/, 60_000);
    await waitForLog(home, 'gamma-2', 'BENTO-GUEST-READY', 180_000);
    expect(await state(home, 'gamma')).toBe('stopped');
    tui.write('q');
  }, 300_000);
});
