import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPane, type Pane, type PaneExit, type PaneFrame, type PaneOptions } from './pane.js';

const panes: Pane[] = [];
afterEach(() => {
  for (const p of panes.splice(0)) p.dispose();
});

function open(command: string, args: string[], over: Partial<PaneOptions> = {}): Pane {
  const p = createPane({ command, args, cols: 80, rows: 24, ...over });
  panes.push(p);
  return p;
}

function text(frame: PaneFrame, y: number): string {
  return frame.lines[y]!.map((r) => r.text).join('');
}

function screen(frame: PaneFrame): string {
  return frame.lines.map((_, y) => text(frame, y).trimEnd()).join('\n');
}

/** Resolves with the first frame (emitted, or the current snapshot) that satisfies pred. */
function waitFor(pane: Pane, pred: (f: PaneFrame) => boolean, ms = 8000): Promise<PaneFrame> {
  return new Promise((resolve, reject) => {
    const now = pane.snapshot();
    if (pred(now)) return resolve(now);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out; screen was:\n${screen(pane.snapshot())}`));
    }, ms);
    const off = pane.onFrame((f) => {
      if (!pred(f)) return;
      clearTimeout(timer);
      off();
      resolve(f);
    });
  });
}

function exited(pane: Pane): Promise<PaneExit> {
  return new Promise((resolve) => pane.onExit(resolve));
}

describe('pane', () => {
  it('renders printf colours as styled runs, merging equal cells', async () => {
    const p = open('printf', ['\\033[31mred\\033[0m plain \\033[1;38;5;208mbold\\033[0m \\033[38;2;1;2;3;44mtc\\033[0m \\033[2;3;4;7mx\\033[0m']);
    await exited(p);
    const runs = p.snapshot().lines[0]!;
    expect(runs[0]).toEqual({ text: 'red', fg: 1, bg: null, bold: false, italic: false, underline: false, inverse: false, dim: false });
    expect(runs[1]).toMatchObject({ text: ' plain ', fg: null });
    expect(runs[2]).toMatchObject({ text: 'bold', fg: 208, bold: true });
    expect(runs[4]).toMatchObject({ text: 'tc', fg: '#010203', bg: 4 });
    expect(runs[6]).toMatchObject({ text: 'x', dim: true, italic: true, underline: true, inverse: true });
    // The rest of the line is one default run: few runs, full width.
    expect(runs).toHaveLength(8);
    expect(text(p.snapshot(), 0)).toHaveLength(80);
  });

  it('renders an alternate-screen program at 80x24 and redraws it after a resize', async () => {
    const script = `
      const draw = () => {
        const { columns: c, rows: r } = process.stdout;
        process.stdout.write('\\x1b[H\\x1b[2J\\x1b[1;1Htop-left ' + c + 'x' + r + '\\x1b[' + r + ';' + (c - 11) + 'Hbottom-right');
      };
      process.stdout.write('normal screen text\\r\\n\\x1b[?1049h');
      draw();
      process.stdout.on('resize', draw);
      process.stdin.setRawMode(true);
      process.stdin.on('data', () => { process.stdout.write('\\x1b[?1049l'); process.exit(0); });
    `;
    const p = open(process.execPath, ['-e', script]);
    let f = await waitFor(p, (fr) => text(fr, 0).startsWith('top-left 80x24'));
    expect(f.altScreen).toBe(true);
    expect(text(f, 23).trimEnd().endsWith('bottom-right')).toBe(true);
    expect(text(f, 23).indexOf('bottom-right')).toBe(68);
    p.resize(100, 30);
    f = await waitFor(p, (fr) => text(fr, 0).startsWith('top-left 100x30'));
    expect(f.cols).toBe(100);
    expect(f.rows).toBe(30);
    expect(f.lines).toHaveLength(30);
    expect(text(f, 29).indexOf('bottom-right')).toBe(88);
    p.write('q');
    await exited(p);
    f = p.snapshot();
    expect(f.altScreen).toBe(false);
    expect(text(f, 0)).toMatch(/^normal screen text/);
  });

  it('renders busybox vi at 80x24 and after a resize to 100x30', async () => {
    if (!fs.existsSync('/bin/busybox')) throw new Error('/bin/busybox is missing: apt-get install busybox-static (scripts/setup.sh does)');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bento-pane-')), 'notes.txt');
    fs.writeFileSync(file, 'first line of the file\nsecond line\nthird\n');
    const p = open('/bin/busybox', ['vi', file]);
    let f = await waitFor(p, (fr) => text(fr, 23).includes('notes.txt'));
    expect(text(f, 0).trimEnd()).toBe('first line of the file');
    expect(text(f, 1).trimEnd()).toBe('second line');
    expect(text(f, 2).trimEnd()).toBe('third');
    for (let y = 3; y < 23; y++) expect(text(f, y).trimEnd()).toBe('~');
    expect(f.cursor).toMatchObject({ x: 0, y: 0, visible: true });
    p.resize(100, 30);
    f = await waitFor(p, (fr) => fr.rows === 30 && text(fr, 29).includes('notes.txt') && text(fr, 28).trimEnd() === '~');
    expect(f.cols).toBe(100);
    expect(text(f, 0).trimEnd()).toBe('first line of the file');
    for (let y = 3; y < 29; y++) expect(text(f, y).trimEnd()).toBe('~');
    p.write('jdd');
    f = await waitFor(p, (fr) => text(fr, 1).trimEnd() === 'third');
    // ESC alone first: "ESC :" in one read would look like Alt-: to vi.
    p.write('\x1b');
    await new Promise((r) => setTimeout(r, 150));
    p.write(':q!\r');
    expect((await exited(p)).exitCode).toBe(0);
  });

  it('caps the frame rate under a flood, loses no byte and bounds the queue', async () => {
    const p = open('sh', ['-c', 'yes | head -c 5000000'], { scrollback: 100 });
    const times: number[] = [];
    p.onFrame(() => times.push(performance.now()));
    const t0 = performance.now();
    await exited(p);
    const secs = (performance.now() - t0) / 1000;
    const s = p.stats();
    // Each "y\n" reaches the terminal as "y\r\n" (the pty's onlcr).
    expect(s.bytesParsed).toBe(7_500_000);
    expect(s.bytesIn).toBe(7_500_000);
    expect(s.frames).toBeLessThanOrEqual(Math.ceil(secs * 30) + 2);
    expect(s.frames).toBeLessThan(s.chunks / 4);
    expect(s.maxQueued).toBeLessThanOrEqual(512 * 1024 + 128 * 1024);
    for (let k = 1; k < times.length - 1; k++) expect(times[k]! - times[k - 1]!).toBeGreaterThanOrEqual(1000 / 30 - 2);
    const f = p.snapshot();
    for (let y = 0; y < 23; y++) expect(text(f, y).trimEnd()).toBe('y');
    expect(f.scrollbackLines).toBe(100);
  });

  it('emits no frame when nothing changes', async () => {
    const p = open('sh', ['-c', 'printf ready; sleep 5']);
    await waitFor(p, (f) => text(f, 0).startsWith('ready'));
    let frames = 0;
    p.onFrame(() => frames++);
    await new Promise((r) => setTimeout(r, 400));
    expect(frames).toBe(1); // the one a new listener always gets
  });

  it('reports exit codes and signals, also to late listeners, and refuses input afterwards', async () => {
    const a = open('sh', ['-c', 'exit 3']);
    expect(await exited(a)).toEqual({ exitCode: 3, signal: null });
    expect(await exited(a)).toEqual({ exitCode: 3, signal: null });
    expect(() => a.write('x')).toThrow(expect.objectContaining({ code: 'not-running' }));
    const b = open('sh', ['-c', 'kill -TERM $$']);
    expect((await exited(b)).signal).toBe(15);
  });

  it('answers terminal queries to the program (they go to the guest, not the host)', async () => {
    const p = open('bash', ['-c', 'printf "\\033[3;5H\\033[6n"; IFS= read -rs -d R reply; printf "\\r\\ngot:%q" "${reply#?}"; sleep 5']);
    const f = await waitFor(p, (fr) => fr.lines.some((_, y) => text(fr, y).includes('got:')));
    expect(screen(f)).toContain('got:\\[3\\;5');
  });

  it('tracks cursor visibility and scrolls back through scrollback', async () => {
    const p = open('sh', ['-c', 'seq 1 100; printf "\\033[?25l"; sleep 5']);
    let f = await waitFor(p, (fr) => !fr.cursor.visible && text(fr, 22).trimEnd() === '100');
    expect(f.scrolledBack).toBe(0);
    p.scroll(-10);
    f = await waitFor(p, (fr) => fr.scrolledBack === 10);
    expect(text(f, 0).trimEnd()).toBe('68'); // rows 0-22 showed 78..100
    p.scrollToBottom();
    f = await waitFor(p, (fr) => fr.scrolledBack === 0);
    expect(text(f, 22).trimEnd()).toBe('100');
  });

  it('kills the program on dispose and validates its input', () => {
    const p = open('sleep', ['30']);
    const pid = p.pid;
    p.dispose();
    p.dispose();
    expect(() => p.write('x')).toThrow(expect.objectContaining({ code: 'not-running' }));
    return expect
      .poll(() => {
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      })
      .toBe(false)
      .then(() => {
        expect(() => createPane({ command: 'sh', args: [], cols: 0, rows: 24 })).toThrow(expect.objectContaining({ code: 'invalid-input' }));
      });
  });
});
