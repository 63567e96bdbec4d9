// `bento image pull` (through bentod: download, hash, verify, keep) against `curl -o` of the same
// URL from the same local server, a ~512 MiB image, 5 runs each, interleaved (goal: bento at least
// 0.9x curl's speed). Two publishers' checksum kinds: sha256 (Ubuntu's SHA256SUMS: one hash of the
// bytes) and sha512 (Debian's SHA512SUMS: the cache's sha256 plus the publisher's sha512).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fakeQcow2, mirrorBuiltin, startImageServer } from '../test/helpers/image-server.js';
import { median, removeHome } from './lib.js';

const root = path.resolve(import.meta.dirname, '..');
const bento = path.join(root, 'dist', 'bento.js');
if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_IMAGE_MIB ?? 512);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';

/** One timed run: wall ms, and CPU seconds of the command itself (from /usr/bin/time) and of bentod. */
interface Run {
  ms: number;
  cpu: number;
  bentodCpu: number;
}

/** CPU seconds a process has used so far (utime + stime from /proc). */
function cpuOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Runs a command without blocking this process (the image server lives here), under /usr/bin/time. */
function timeAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv, bentod: number): Promise<Run> {
  const out = path.join(work, 'time.out');
  const before = cpuOf(bentod);
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-o', out, '-f', '%U %S', cmd, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) return reject(new Error(`${cmd} ${args.join(' ')} failed: ${err}`));
      const [u, sys] = fs.readFileSync(out, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
      resolve({ ms, cpu: (u ?? 0) + (sys ?? 0), bentodCpu: cpuOf(bentod) - before });
    });
  });
}

const work = fs.mkdtempSync('/tmp/bench-img-');
const home = fs.mkdtempSync('/tmp/bench-imh-');
const mirror = path.join(work, 'mirror');
const source = path.join(work, 'source.qcow2');
const server = await startImageServer(mirror);
try {
  // The image: a qcow2 header, then random bytes (incompressible, like a real image's payload).
  const fd = fs.openSync(source, 'w');
  fs.writeSync(fd, fakeQcow2(MiB, 8 * 1024 * MiB));
  for (let i = 1; i < SIZE_MIB; i++) fs.writeSync(fd, randomBytes(MiB));
  fs.closeSync(fd);
  mirrorBuiltin(mirror, 'ubuntu-24.04', arch, source);
  mirrorBuiltin(mirror, 'debian-12', arch, source);
  fs.rmSync(source);
  const env = { ...process.env, BENTO_HOME: home, BENTO_IMAGE_MIRROR: server.url };
  execFileSync('node', [bento, 'image', 'ls'], { env, stdio: 'ignore' }); // starts bentod
  const bentod = Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8'));
  const url = `${server.url}/ubuntu-24.04/${arch}/ubuntu-24.04-server-cloudimg-${arch === 'x86_64' ? 'amd64' : 'arm64'}.img`;
  const out = path.join(work, 'curl.out');
  const curl = async (): Promise<Run> => {
    const t = await timeAsync('curl', ['-sS', '-o', out, url], env, bentod);
    fs.rmSync(out, { force: true });
    return t;
  };
  const pull = (id: string) => async (): Promise<Run> => {
    const t = await timeAsync('node', [bento, 'image', 'pull', id], env, bentod);
    execFileSync('node', [bento, 'image', 'rm', id], { env, stdio: 'ignore' });
    return t;
  };
  const cases: [string, () => Promise<Run>][] = [
    ['curl -o', curl],
    ['bento image pull (sha256 publisher)', pull('ubuntu-24.04')],
    ['bento image pull (sha512 publisher)', pull('debian-12')],
  ];
  // One untimed round warms the page cache and the server's file.
  for (const [, run] of cases) await run();
  const runs = cases.map(() => [] as Run[]);
  for (let i = 0; i < RUNS; i++) for (const [k, [, run]] of cases.entries()) runs[k]!.push(await run());
  const base = median(runs[0]!.map((r) => r.ms));
  console.log(`bench image pull: ${SIZE_MIB} MiB from a local HTTP server (node, 127.0.0.1), ${RUNS} runs each, bentod running, ${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(1)}`);
  for (const [k, [name]] of cases.entries()) {
    const m = median(runs[k]!.map((r) => r.ms));
    const speed = (SIZE_MIB / (m / 1000)).toFixed(0);
    const ratio = k === 0 ? '' : `   ${(base / m).toFixed(2)}x curl's speed (goal: at least 0.9x)`;
    // CPU: the command's own, plus (for bento) bentod's, which does the download, hashing and writing.
    const cpu = median(runs[k]!.map((r) => r.cpu + (k === 0 ? 0 : r.bentodCpu)));
    console.log(`  ${name.padEnd(38)} median ${(m / 1000).toFixed(2)} s  ${speed} MiB/s  CPU ${cpu.toFixed(2)} s${ratio}`);
  }
  // bentod logs its own time per pull (download to rename): what the CLI and its startup add is the rest.
  const own = [...fs.readFileSync(path.join(home, 'bentod.log'), 'utf8').matchAll(/images: pulled (\S+) .* in ([\d.]+) s/g)].map((m) => [m[1]!, Number(m[2])] as const);
  for (const id of ['ubuntu-24.04', 'debian-12']) {
    const secs = own.filter(([k]) => k.startsWith(id)).map(([, s]) => s);
    if (secs.length) console.log(`  inside bentod, ${id.padEnd(14)} median ${median(secs).toFixed(2)} s`);
  }
} finally {
  await server.close();
  removeHome(home);
  fs.rmSync(work, { recursive: true, force: true });
}
