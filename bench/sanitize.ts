/**
 * Throughput of the console sanitiser against a plain Buffer copy of the same chunks, in the same run.
 * Run: npx tsx bench/sanitize.ts
 */
import { BENIGN_CASES, HOSTILE_CASES } from '../src/console/hostile-corpus.js';
import { createSanitizer } from '../src/console/sanitize.js';

const MB = 1024 * 1024;
const CHUNK = 64 * 1024;
const RUNS = 7;

function build(unit: Buffer, size: number): Buffer {
  return Buffer.alloc(size, unit);
}

function chunks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += CHUNK) out.push(data.subarray(i, i + CHUNK));
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** MB/s of fn over all chunks, median of RUNS runs after one warm-up. */
function measure(parts: Buffer[], total: number, fn: (c: Buffer) => Buffer): number {
  const rates: number[] = [];
  let sink = 0;
  for (let run = 0; run <= RUNS; run++) {
    const t0 = process.hrtime.bigint();
    for (const c of parts) sink += fn(c).length;
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (run > 0) rates.push(total / MB / secs);
  }
  if (sink < 0) console.log(sink); // keeps the work observable
  return median(rates);
}

const log = Buffer.from('2024-05-01T12:00:00Z systemd[1]: Started Session 42 of user root, all is well here.\r\n');
const colour = Buffer.from('\x1b[1;32mOK\x1b[0m \x1b[38;5;208mwarn\x1b[0m \x1b[38;2;10;20;30mtrue\x1b[m plain text ünïcödé 日本 \r\n');
const screen = Buffer.concat(BENIGN_CASES.map((c) => c.input));
const hostile = Buffer.concat(HOSTILE_CASES.filter((c) => c.input.length < 4096).map((c) => c.input));

const workloads: [string, Buffer][] = [
  ['plain log text', build(log, 32 * MB)],
  ['SGR-heavy colour', build(colour, 32 * MB)],
  ['full-screen (vi/less/top)', build(screen, 32 * MB)],
  ['hostile mix', build(hostile, 16 * MB)],
];

console.log(`sanitiser throughput, ${CHUNK / 1024} KiB chunks, median of ${RUNS} runs (MB/s)`);
console.log('workload'.padEnd(28), 'copy'.padStart(9), 'sanitise'.padStart(9), 'ratio'.padStart(7));
for (const [name, data] of workloads) {
  const parts = chunks(data);
  const copy = measure(parts, data.length, (c) => Buffer.from(c));
  const s = createSanitizer();
  const sane = measure(parts, data.length, (c) => s.push(c));
  console.log(name.padEnd(28), copy.toFixed(0).padStart(9), sane.toFixed(0).padStart(9), `${(sane / copy).toFixed(2)}x`.padStart(7));
}
