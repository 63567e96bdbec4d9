import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

/** The median of some numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The p-th percentile (0-100) of some numbers. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Wall-clock milliseconds of one run of a command (fails loudly if it fails). */
export function timeCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString()}`);
  return ms;
}

/** Runs two commands alternately n times each (so drift hits both alike) and returns their timings. */
export function interleave(n: number, a: () => number, b: () => number): { a: number[]; b: number[] } {
  const out = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < n; i++) {
    out.a.push(a());
    out.b.push(b());
  }
  return out;
}

/** Formats milliseconds. */
export const ms = (x: number): string => `${x.toFixed(1)} ms`;

/** Stops the bentod of a bench's temporary home (if any) and removes the home. */
export function removeHome(home: string): void {
  try {
    process.kill(Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8')));
  } catch {
    // no daemon
  }
  fs.rmSync(home, { recursive: true, force: true });
}

/** A 120x40 terminal Ink renders into in process: it notes when the last byte of output came, and how many. */
export class FakeTtyOut extends EventEmitter {
  isTTY = true;
  columns = 120;
  rows = 40;
  last = 0;
  bytes = 0;
  constructor(private readonly onWrite?: (s: string) => void) {
    super();
  }
  write = (s: string): boolean => {
    this.last = performance.now();
    this.bytes += s.length;
    this.onWrite?.(s);
    return true;
  };
}

/**
 * Keypress to frame: writes j (then k, 25 of each in turn) `n` + 10 times, `gapMs` apart, and times each
 * from the write to the last byte of the frame it causes. The first 10 only warm the JIT up.
 */
export async function keypressTimes(stdin: { write(s: string): unknown }, stdout: FakeTtyOut, n: number, gapMs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n + 10; i++) {
    const before = stdout.last;
    const t0 = performance.now();
    stdin.write(i % 50 < 25 ? 'j' : 'k');
    while (stdout.last === before) await new Promise((r) => setImmediate(r));
    if (i >= 10) times.push(stdout.last - t0);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return times;
}
