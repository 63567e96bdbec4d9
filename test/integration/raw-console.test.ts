import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPane, type Pane, type PaneFrame } from '../../src/console/pane.js';
import { BENTO, bento, cleanupHome, createGuest, serialLog, tempHome, waitFor } from '../helpers/bento.js';
import { runInPty, type PtyRun } from '../helpers/pty.js';

/**
 * Full raw mode end to end: a guest that turns its own output processing off (`stty -opost`) sends
 * bare LFs, and they must reach the host terminal (the pty master here) as bare LFs. With Node's
 * setRawMode alone the host tty's ONLCR turned each into CR LF.
 */

/** `bento console NAME` in a pty, wrapped in a shell that records `stty -g` before and after. */
function attached(home: string, name: string, env: Record<string, string> = {}): { run: PtyRun; before: () => string; after: () => string } {
  const dir = fs.mkdtempSync(path.join(home, 'pty-'));
  const script = `stty -g > ${dir}/before; node ${BENTO} console ${name}; echo "EXIT=$?"; stty -g > ${dir}/after; sleep 1`;
  const run = runInPty('bash', ['--norc', '--noprofile', '-c', script], { env: { BENTO_HOME: home, ...env } });
  const read = (f: string) => (): string => {
    try {
      return fs.readFileSync(`${dir}/${f}`, 'utf8');
    } catch {
      return '';
    }
  };
  return { run, before: read('before'), after: read('after') };
}

/** The resize trick as a guest one-liner: cursor to 999;999, ask where it is, set the answer. */
const GUEST_RESIZE =
  "stty -echo -icanon; printf '\\033%s\\033[r\\033[999;999H\\033[6n\\033%s' 7 8; read -r -d R p; stty echo icanon; p=${p#*[}; stty rows ${p%;*} cols ${p#*;}";

const text = (f: PaneFrame): string[] => f.lines.map((l) => l.map((r) => r.text).join('').trimEnd());

describe('full raw mode on the host terminal', () => {
  let home: string;
  const runs: PtyRun[] = [];
  let pane: Pane | null = null;
  beforeAll(async () => {
    home = tempHome();
    // One guest per console device, booted together: the UART (ttyS0) and the virtio console (hvc0).
    await Promise.all([createGuest(home, 'uart'), createGuest(home, 'hvc', { virtio: true })]);
    const started = await Promise.all([bento(home, ['start', 'uart']), bento(home, ['start', 'hvc'])]);
    for (const r of started) expect(r.exitCode, r.stderr).toBe(0);
    await waitFor('the ttyS0 shell of uart', () => serialLog(home, 'uart').includes('BENTO-GUEST-READY'), 120_000, 200);
    // One marker from the ttyS0 shell, one from the hvc0 shell that bentod streams.
    await waitFor('both shells of hvc', () => serialLog(home, 'hvc').split('BENTO-GUEST-READY').length > 2, 120_000, 200);
  });
  afterAll(async () => {
    for (const r of runs) r.kill();
    pane?.dispose();
    await cleanupHome(home);
  });

  it.each([
    ['uart', 'the addon', {}],
    ['hvc', 'the addon', {}],
    // The loader takes an explicit path alone, so a missing one means no addon: /bin/stty does it.
    ['uart', 'stty (no addon)', { BENTO_NATIVE_PATH: '/nonexistent/bento_native.node' }],
  ] as const)('a bare LF from the guest (%s, raw mode by %s) reaches the terminal as a bare LF; stty -g is restored', async (name, _how, env) => {
    const a = attached(home, name, env);
    runs.push(a.run);
    await a.run.waitForScreen('(Ctrl-] to detach)');
    // The markers are computed by the guest, so the typed command's echo never matches them.
    a.run.write("stty -opost; printf '<%d>ab\\ncd\\n<%d>' 7 8; stty opost\r");
    await a.run.waitForRaw('<8>', 30_000);
    const raw = a.run.raw();
    expect(raw).toContain('<7>ab\ncd\n<8>');
    expect(raw).not.toContain('<7>ab\r\n');
    // And with the guest's own ONLCR back on, its CR LF passes unchanged too (no CR added or lost).
    a.run.write("printf '<%d>ef\\n<%d>' 5 6\r");
    await a.run.waitForRaw('<6>', 30_000);
    expect(a.run.raw()).toContain('<5>ef\r\n<6>');
    a.run.write('\x1d');
    await a.run.waitForScreen(/EXIT=0/, 30_000);
    await waitFor('stty -g after the attach', () => a.after().length > 0, 10_000);
    expect(a.after()).toBe(a.before());
  });

  it("answers the guest's size probe from the real terminal, so the guest learns its size", async () => {
    const a = attached(home, 'hvc');
    runs.push(a.run);
    await a.run.waitForScreen('(Ctrl-] to detach)');
    // busybox here has no `resize`; this is what it does (and what the README suggests in its place).
    a.run.write(`${GUEST_RESIZE}; echo SIZE-$(stty size | tr ' ' x)\r`);
    await a.run.waitForScreen('SIZE-30x100', 30_000);
    a.run.resize(120, 40);
    a.run.write(`${GUEST_RESIZE}; echo SIZE-$(stty size | tr ' ' x)\r`);
    await a.run.waitForScreen('SIZE-40x120', 30_000);
    a.run.write('\x1d');
    await a.run.waitForScreen(/EXIT=0/, 30_000);
  });

  it('the pane engine sees the guest bytes unchanged: after a bare LF the cursor column stays', async () => {
    const p = createPane({ command: process.execPath, args: [BENTO, 'console', 'hvc', '--pane'], cols: 80, rows: 24, env: { BENTO_HOME: home } });
    pane = p;
    await waitFor('the console in the pane', () => text(p.snapshot()).some((l) => l.includes('BENTO-GUEST-READY')), 30_000);
    p.write("stty -opost; printf 'abc\\ndef<%d>' 9; stty opost; echo\r");
    const lines = await waitFor('the output in the pane', () => {
      const s = text(p.snapshot());
      const i = s.findIndex((l) => l.endsWith('abc'));
      return i >= 0 && s[i + 1]?.includes('def<9>') ? s.slice(i, i + 2) : null;
    }, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${JSON.stringify(text(p.snapshot()))}`);
    });
    // "def" starts under the column after "c": LF moved down only.
    expect(lines[1]).toBe(`${' '.repeat(lines[0]!.length)}def<9>`);
    p.write('\x1d');
    await waitFor('the console client to exit', () => p.exitInfo() !== null, 15_000);
  });
});
