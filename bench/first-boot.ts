// From `bento create --image` to a working `bento ssh`, against the same guest started by hand: the
// same qemu command line bento builds (minus -S), a fresh overlay on the same cached base, the same
// seed, polled with plain ssh until a command runs (goal: bento adds under 1 s). Runs alternate so
// machine drift hits both alike. The image comes from the test image through a local mirror, pulled
// once before the runs (pull throughput is bench/image-pull.ts).
//   npx tsx bench/first-boot.ts          RUNS=N (default 2; every run boots Debian twice under TCG)
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mirrorBuiltin, startImageServer } from '../test/helpers/image-server.js';
import { expectedGuestUser, testImage } from '../test/helpers/test-image.js';
import { freeLoopbackPort } from '../src/vm/net.js';
import { FINAL_RE } from '../src/vm/cloud-init.js';
import { median, removeHome } from './lib.js';

const root = path.resolve(import.meta.dirname, '..');
const bento = path.join(root, 'dist', 'bento.js');
if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
const image = testImage();
const home = fs.mkdtempSync('/tmp/bench-fb-');
const mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mirror-'));
mirrorBuiltin(mirror, 'debian-12', 'x86_64', image);
const server = await startImageServer(mirror);
const env = { ...process.env, BENTO_HOME: home, BENTO_IMAGE_MIRROR: server.url };
// Never a synchronous child here: the image server lives in this process.
const exec = promisify(execFile);
const run = async (args: string[]): Promise<string> => (await exec('node', [bento, ...args], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })).stdout;
const user = expectedGuestUser();
const key = path.join(home, 'ssh', 'id_ed25519');
const sec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;


/** Plain ssh, trusting whatever key answers (the by-hand baseline pins nothing). */
function sshOnce(port: number): boolean {
  try {
    execFileSync('ssh', ['-p', String(port), '-i', key, '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=3', '-o', 'LogLevel=ERROR', `${user}@127.0.0.1`, 'true'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Polls a file until `re` shows up in it; resolves with the ms since t0 (or never). */
async function whenInFile(file: string, re: RegExp, t0: number): Promise<number> {
  for (;;) {
    try {
      if (re.test(fs.readFileSync(file, 'latin1'))) return performance.now() - t0;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** By hand: ms until plain ssh runs a command, and until that and cloud-init's final message (bento's readiness rule). */
async function byHand(command: string[], vmDir: string, seed: string, base: string): Promise<{ ssh: number; finished: number }> {
  const dir = fs.mkdtempSync('/tmp/bench-fb-bare-');
  const port = await freeLoopbackPort();
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', path.join(dir, 'disk.qcow2'), '3G']);
  fs.copyFileSync(seed, path.join(dir, 'cidata.iso'));
  // The console goes to a file QEMU writes itself (nobody reads a socket), so the guest is never
  // slowed by a reader and cloud-init's final message can be timed from the file.
  const log = path.join(dir, 'serial.out');
  const argv = command
    .map((a) => a.replaceAll(vmDir, dir).replace(/hostfwd=tcp:127\.0\.0\.1:\d+-:22/, `hostfwd=tcp:127.0.0.1:${port}-:22`))
    .map((a) => (a.startsWith('socket,id=serial0,') ? `file,id=serial0,path=${log}` : a))
    .filter((a) => a !== '-S');
  const t0 = performance.now();
  const qemu: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  try {
    const final = whenInFile(log, FINAL_RE, t0);
    while (!sshOnce(port)) await new Promise((r) => setTimeout(r, 500));
    const ssh = performance.now() - t0;
    return { ssh, finished: Math.max(ssh, await final) };
  } finally {
    qemu.kill('SIGKILL');
    await new Promise((r) => qemu.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function withBento(name: string): Promise<number> {
  const t0 = performance.now();
  await run(['create', name, '--image', 'debian-12', '--network', 'restricted', '--disk-size', '3G']);
  await run(['start', name, '--wait', '--wait-timeout', '900']);
  await run(['ssh', name, 'true']);
  const t = performance.now() - t0;
  await run(['rm', '--force', name]);
  return t;
}

try {
  await run(['image', 'pull', 'debian-12']);
  // The baseline boots bento's own command line, seed and base, so only bento's work differs.
  await run(['create', 'tpl', '--image', 'debian-12', '--network', 'restricted', '--disk-size', '3G']);
  const tpl = JSON.parse(await run(['inspect', 'tpl', '--json'])) as { dir: string; spec: { image: { path: string } }; driver: { command: string[] } };
  const n = Number(process.env.RUNS ?? 2);
  const handSsh: number[] = [];
  const handDone: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < n; i++) {
    const h = await byHand(tpl.driver.command, tpl.dir, path.join(tpl.dir, 'cidata.iso'), tpl.spec.image.path);
    handSsh.push(h.ssh);
    handDone.push(h.finished);
    ours.push(await withBento(`fb${i}`));
    console.log(`run ${i + 1}: by hand ssh ${sec(h.ssh)}, ssh + cloud-init finished ${sec(h.finished)}; bento ${sec(ours[i]!)}`);
  }
  const b = median(ours);
  console.log(`\nfirst boot to a working ssh (Debian 12 + cloud-init, TCG, ${n} runs each, medians)`);
  console.log(`  by hand: qemu + the same seed, until plain ssh (any host key) runs     ${sec(median(handSsh))}`);
  console.log(`  by hand: until that and cloud-init's final message (bento's rule)     ${sec(median(handDone))}`);
  console.log(`  bento create --image; start --wait; bento ssh (pinned host keys)       ${sec(b)}`);
  console.log(`  bento's overhead against plain ssh by hand                             ${sec(b - median(handSsh))} (goal under 1 s)`);
  console.log(`  bento's overhead against the same rule                                 ${sec(b - median(handDone))}`);
  console.log(`  what waiting for cloud-init (and its host-key block) costs over ssh    ${sec(median(handDone) - median(handSsh))}`);
} finally {
  try {
    await run(['rm', '--force', 'tpl']);
  } catch {
    // not created
  }
  await server.close();
  removeHome(home);
  fs.rmSync(mirror, { recursive: true, force: true });
}
