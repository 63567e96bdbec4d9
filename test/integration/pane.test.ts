import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPane, type Pane, type PaneFrame } from '../../src/console/pane.js';
import { BENTO, bento, cleanupHome, createGuest, tempHome, waitFor, waitForLog } from '../helpers/bento.js';

const text = (f: PaneFrame): string[] => f.lines.map((l) => l.map((r) => r.text).join('').trimEnd());

describe('a full-screen guest program in the pane engine', () => {
  let home: string;
  let pane: Pane | null = null;
  beforeAll(async () => {
    home = tempHome();
    await createGuest(home, 'vi');
    expect((await bento(home, ['start', 'vi'])).exitCode).toBe(0);
    await waitForLog(home, 'vi', 'BENTO-GUEST-READY', 120_000);
  });
  afterAll(async () => {
    pane?.dispose();
    await cleanupHome(home);
  });

  it('renders busybox vi at 80x24, and at 100x30 after a resize', async () => {
    const p = createPane({ command: process.execPath, args: [BENTO, 'console', 'vi', '--pane'], cols: 80, rows: 24, env: { BENTO_HOME: home } });
    pane = p;
    const screen = (): string[] => text(p.snapshot());
    // ESC on its own: vi reads ESC quickly followed by more bytes as a key sequence.
    const quit = async (cmd: string): Promise<void> => {
      p.write('\x1b');
      await new Promise((r) => setTimeout(r, 300));
      p.write(`${cmd}\r`);
    };
    // The replayed scrollback ends at the guest's prompt.
    await waitFor('the guest prompt in the pane', () => screen().some((l) => l.startsWith('BENTO-GUEST-READY')), 30_000);
    // A serial line carries no window size: the guest is told, as on any serial console.
    p.write("printf 'first line\\nsecond line\\n' > /tmp/f; stty rows 24 cols 80; vi /tmp/f\r");
    await waitFor('vi at 80x24', () => {
      const s = screen();
      return s[0] === 'first line' && s[1] === 'second line' && s[2] === '~' && s[22] === '~' && /\/tmp\/f/.test(s[23] ?? '');
    }, 30_000);
    expect(p.snapshot().altScreen).toBe(true);

    await quit(':q');
    await waitFor('vi to quit', () => !p.snapshot().altScreen, 15_000);
    p.resize(100, 30);
    p.write('stty rows 30 cols 100; vi /tmp/f\r');
    await waitFor('vi at 100x30', () => {
      const f = p.snapshot();
      const s = text(f);
      return f.cols === 100 && f.rows === 30 && s[0] === 'first line' && s[28] === '~' && /\/tmp\/f/.test(s[29] ?? '');
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(text(p.snapshot()))}`);
    });
    // Typing into vi changes the file's first line on screen.
    p.write('ggIhello ');
    await new Promise((r) => setTimeout(r, 300));
    p.write('\x1b');
    await waitFor('the edit on screen', () => screen()[0] === 'hello first line', 15_000);
    await quit(':q!');
    await waitFor('vi to quit again', () => !p.snapshot().altScreen, 15_000);
    p.write('\x1d');
    await waitFor('the console client to exit', () => p.exitInfo() !== null, 15_000);
    expect(p.exitInfo()?.exitCode).toBe(0);
  });
});
