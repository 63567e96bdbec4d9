// From `bento create --image` to a working `bento ssh`, against the same guest started by hand: the
// same qemu command line bento builds (minus -S), a fresh overlay on the same cached base, the same
// seed, polled with plain ssh until a command runs (goal: bento adds under 1 s). Runs alternate so
// machine drift hits both alike. The image comes from the test image through a local mirror, pulled
// once before the runs (pull throughput is bench/image-pull.ts).
//   npx tsx bench/first-boot.ts          RUNS=N (default 2; every run boots Debian twice under TCG)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mirrorBuiltin, startImageServer } from '../test/helpers/image-server.js';
import { expectedGuestUser, testImage } from '../test/helpers/test-image.js';
import { freeLoopbackPort } from '../src/vm/net.js';
import { median, removeHome } from './stats.js';

const root = path.resolve(import.meta.dirname, '..');
const bento = path.join(root, 'dist', 'bento.js');
if (!fs.existsSync(bento)) throw new Error('run `npm run build` first');
const image = testImage();
const home = fs.mkdtempSync('/tmp/bench-fb-');
const mirror = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-mirror-'));
mirrorBuiltin(mirror, 'debian-12', 'x86_64', image);
const server = await startImageServer(mirror);
const env = { ...process.env, BENTO_HOME: home, BENTO_IMAGE_MIRROR: server.url };
const run = (args: string[]): string => execFileSync('node', [bento, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
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

async function byHand(command: string[], vmDir: string, seed: string, base: string): Promise<number> {
  const dir = fs.mkdtempSync('/tmp/bench-fb-bare-');
  const port = await freeLoopbackPort();
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', path.join(dir, 'disk.qcow2'), '3G']);
  fs.copyFileSync(seed, path.join(dir, 'cidata.iso'));
  const argv = command
    .map((a) => a.replaceAll(vmDir, dir).replace(/hostfwd=tcp:127\.0\.0\.1:\d+-:22/, `hostfwd=tcp:127.0.0.1:${port}-:22`))
    .filter((a) => a !== '-S');
  const t0 = performance.now();
  const qemu: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  try {
    while (!sshOnce(port)) await new Promise((r) => setTimeout(r, 500));
    return performance.now() - t0;
  } finally {
    qemu.kill('SIGKILL');
    await new Promise((r) => qemu.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function withBento(name: string): number {
  const t0 = performance.now();
  run(['create', name, '--image', 'debian-12', '--network', 'restricted', '--disk-size', '3G']);
  run(['start', name, '--wait', '--wait-timeout', '900']);
  execFileSync('node', [bento, 'ssh', name, 'true'], { env, stdio: 'ignore', timeout: 60_000 });
  const t = performance.now() - t0;
  run(['rm', '--force', name]);
  return t;
}

try {
  run(['image', 'pull', 'debian-12']);
  // The baseline boots bento's own command line, seed and base, so only bento's work differs.
  run(['create', 'tpl', '--image', 'debian-12', '--network', 'restricted', '--disk-size', '3G']);
  const tpl = JSON.parse(run(['inspect', 'tpl', '--json'])) as { dir: string; spec: { image: { path: string } }; driver: { command: string[] } };
  const n = Number(process.env.RUNS ?? 2);
  const hand: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < n; i++) {
    hand.push(await byHand(tpl.driver.command, tpl.dir, path.join(tpl.dir, 'cidata.iso'), tpl.spec.image.path));
    ours.push(withBento(`fb${i}`));
    console.log(`run ${i + 1}: by hand ${sec(hand[i]!)}, bento ${sec(ours[i]!)}`);
  }
  const h = median(hand);
  const b = median(ours);
  console.log(`\nfirst boot to a working ssh (Debian 12 + cloud-init, TCG, ${n} runs each, medians)`);
  console.log(`  qemu + the same seed by hand, polled with ssh   ${sec(h)}`);
  console.log(`  bento create --image; start --wait; bento ssh   ${sec(b)}`);
  console.log(`  bento's overhead                                ${sec(b - h)} (goal under 1 s)`);
} finally {
  try {
    run(['rm', '--force', 'tpl']);
  } catch {
    // not created
  }
  await server.close();
  removeHome(home);
  fs.rmSync(mirror, { recursive: true, force: true });
}
