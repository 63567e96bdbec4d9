import path from 'node:path';
import pty from 'node-pty';
import { describe, expect, it } from 'vitest';
import { handOver, lastLine } from './handover.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

/**
 * Runs handOver in a real pty with a child that leaves the terminal raw and dies by SIGKILL (as a
 * console client killed hard would), and reports whether `stty -g` after equals `stty -g` before.
 */
function run(saveModes: boolean): Promise<string> {
  const script = `import { execSync } from 'node:child_process';
    import { handOver } from ${JSON.stringify(path.join(repoRoot, 'src/console/handover.ts'))};
    const g = () => execSync('stty -g', { stdio: ['inherit', 'pipe', 'inherit'] }).toString().trim();
    const before = g();
    const opts = { command: 'sh', args: ['-c', 'stty raw -echo -opost; kill -9 $$'] };
    ${saveModes ? '' : "opts.saveTerminal = () => { throw new Error('off'); };"}
    const r = await handOver(opts);
    process.stdout.write('\\r\\nRESULT ' + r.signal + ' ' + (g() === before ? 'SAME' : 'DIFF') + '\\r\\n');
    process.exit(0);`;
  const p = pty.spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, cols: 80, rows: 24 });
  let out = '';
  p.onData((d) => (out += d));
  return new Promise((resolve) => p.onExit(() => resolve(/RESULT \S+ \S+/.exec(out)?.[0] ?? out)));
}

describe('handOver', () => {
  it('gives the terminal back with its exact modes when the child dies leaving it raw', async () => {
    expect(await run(true)).toBe('RESULT SIGKILL SAME');
  });

  it('(control) without the saved modes the dead child leaves the terminal raw', async () => {
    expect(await run(false)).toBe('RESULT SIGKILL DIFF');
  });
});

describe('handOver with keepStderr', () => {
  it("passes the child's stderr on and keeps its last line", async () => {
    const stdin = { isTTY: false, pause: () => undefined } as unknown as NodeJS.ReadStream;
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((d: string | Uint8Array) => (written.push(String(d)), true)) as typeof process.stderr.write;
    try {
      const r = await handOver({ command: 'sh', args: ['-c', 'echo first >&2; echo "bento: web is gone" >&2; exit 3'], stdin, keepStderr: true });
      expect(r).toEqual({ exitCode: 3, signal: null, lastError: 'web is gone' });
    } finally {
      process.stderr.write = write;
    }
    expect(written.join('')).toBe('first\nbento: web is gone\n');
    expect(lastLine('a\r\n  \n')).toBe('a');
  });
});
