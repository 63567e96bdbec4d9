/**
 * CPU time of the pane engine (this process: pty reads, terminal parsing, frame building) while a
 * child prints coloured log lines at 10 KB/s and then at 1 MB/s, with a frame listener attached as a
 * renderer would be. The goal: 100x the bytes for under 1.5x the CPU, since frames are capped.
 * Run: npx tsx bench/pane-cpu.ts [seconds per run, default 3]
 */
import { createPane } from '../src/console/pane.js';

const SECONDS = Number(process.argv[2] ?? 3);
const ROUNDS = 3;
const WARMUP_MS = 500;

// The child writes every 10 ms, so both rates produce the same number of writes and reads; only
// the bytes differ. Its own CPU is not ours and is not counted.
const CHILD = `
  const rate = Number(process.argv[1]);
  const line = (n) => '\\x1b[32mINFO\\x1b[0m ' + new Date().toISOString() + ' \\x1b[36mreq\\x1b[0m id=' + n + ' path=/api/v1/things status=200 bytes=1234 took=12ms\\r\\n';
  let n = 0, owed = 0;
  setInterval(() => {
    owed += rate / 100;
    let out = '';
    while (out.length < owed) out += line(n++);
    owed -= out.length;
    process.stdout.write(out);
  }, 10);
`;

interface Result {
  cpuMs: number;
  frames: number;
  bytes: number;
  reads: number;
  writes: number;
}

async function measure(rate: number): Promise<Result> {
  const pane = createPane({ command: process.execPath, args: ['-e', CHILD, String(rate)], cols: 120, rows: 40, maxFps: 30 });
  let runs = 0;
  pane.onFrame((f) => {
    for (const l of f.lines) runs += l.length; // touch the frame as a renderer would
  });
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const before = pane.stats();
  const cpu0 = process.cpuUsage();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const cpu = process.cpuUsage(cpu0);
  const after = pane.stats();
  pane.dispose();
  if (runs < 0) console.log(runs);
  return {
    cpuMs: (cpu.user + cpu.system) / 1000 / SECONDS,
    frames: (after.frames - before.frames) / SECONDS,
    bytes: (after.bytesParsed - before.bytesParsed) / SECONDS,
    reads: (after.chunks - before.chunks) / SECONDS,
    writes: (after.writes - before.writes) / SECONDS,
  };
}

function median(rs: Result[]): Result {
  const sorted = [...rs].sort((a, b) => a.cpuMs - b.cpuMs);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function show(label: string, r: Result): void {
  console.log(
    `${label.padEnd(8)} ${(r.bytes / 1024).toFixed(0).padStart(5)} KiB/s  ${r.reads.toFixed(0).padStart(4)} reads/s  ` +
      `${r.writes.toFixed(0).padStart(4)} writes/s  ${r.frames.toFixed(1).padStart(4)} frames/s  ` +
      `${r.cpuMs.toFixed(1).padStart(5)} ms CPU/s (${(r.cpuMs / 10).toFixed(1)}% of a core)`,
  );
}

// Alternate the rates and take medians: the child shares two cores with us, so single runs are noisy.
const slow: Result[] = [];
const fast: Result[] = [];
for (let k = 0; k < ROUNDS; k++) {
  slow.push(await measure(10 * 1024));
  fast.push(await measure(1024 * 1024));
}
console.log(`pane engine CPU, 120x40, 30 fps cap, median of ${ROUNDS} runs of ${SECONDS} s`);
show('10 KB/s', median(slow));
show('1 MB/s', median(fast));
console.log(`ratio (1 MB/s over 10 KB/s): ${(median(fast).cpuMs / median(slow).cpuMs).toFixed(2)}x  (goal < 1.5x)`);
