// `bento image` through a real bentod, against a local image server standing in for the publishers
// (BENTO_IMAGE_MIRROR): the progress bar in a real terminal, plain progress in a pipe, ls and rm.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostArch } from '../../src/cli/image-format.js';
import type { ImageList } from '../../src/vm/images/types.js';
import { BENTO, bento, cleanupHome, tempHome } from '../helpers/bento.js';
import { fakeQcow2, mirrorBuiltin, startImageServer, type ImageServer } from '../helpers/image-server.js';
import { runInPty } from '../helpers/pty.js';

const MiB = 1024 * 1024;

describe('bento image', () => {
  let home: string;
  let root: string;
  let server: ImageServer;
  let env: Record<string, string>;
  let debian: { sha256: string };

  beforeAll(async () => {
    if (!fs.existsSync(BENTO)) throw new Error(`${BENTO} is missing: run \`npm run build\` first`);
    home = tempHome();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-mirror-'));
    debian = mirrorBuiltin(root, 'debian-12', hostArch(), fakeQcow2(8 * MiB));
    mirrorBuiltin(root, 'alpine-3.24', hostArch(), fakeQcow2(MiB));
    mirrorBuiltin(root, 'ubuntu-24.04', hostArch(), fakeQcow2(MiB), { wrongChecksum: true });
    // Slow enough (about 2 s for debian-12) for several redraws of the progress bar.
    server = await startImageServer(root, { bytesPerSec: 4 * MiB });
    env = { BENTO_IMAGE_MIRROR: server.url };
  });
  afterAll(async () => {
    await cleanupHome(home);
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('pull draws a progress bar redrawn in place on a terminal, then the final line', async () => {
    const run = runInPty('node', [BENTO, 'image', 'pull', 'debian-12'], { env: { BENTO_HOME: home, ...env }, cols: 100 });
    const { exitCode } = await run.exited;
    const raw = run.raw();
    expect(exitCode, raw).toBe(0);
    // Each redraw starts with a carriage return and clears the rest of the line.
    // eslint-disable-next-line no-control-regex -- the redraw's erase-line sequence is what is asserted
    const bar = /\rdebian-12 {2}\[[=> ]+\] +\d+% {2}[\d.]+ (B|KiB|MiB) \/ 8\.0 MiB {2}[\d.]+ (KiB|MiB)\/s {2}ETA \d+s\x1b\[K/g;
    const redraws = raw.match(bar) ?? [];
    expect(redraws.length, raw).toBeGreaterThanOrEqual(3);
    expect(new Set(redraws.map((r) => /(\d+)%/.exec(r)![1])).size).toBeGreaterThanOrEqual(2);
    expect(run.screen()).toMatch(new RegExp(`pulled debian-12 \\(sha256-${debian.sha256.slice(0, 12)}…, 8\\.0 MiB\\) in \\d+\\.\\d s`));
    // The bar is erased before the final line: nothing of it stays on the screen.
    expect(run.screen()).not.toContain('[=');
  });

  it('pull into a pipe prints plain progress lines, and a second pull is instant', async () => {
    const r = await bento(home, ['image', 'pull', 'alpine-3.24'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('alpine-3.24: fetching the checksum file');
    expect(r.stderr).not.toContain('\r');
    expect(r.stdout).toMatch(/^pulled alpine-3\.24 \(sha256-[0-9a-f]{12}…, 1\.0 MiB\) in \d+\.\d s$/);
    const again = await bento(home, ['image', 'pull', 'alpine-3.24'], { env });
    expect(again.stdout).toMatch(/^alpine-3\.24 is already pulled \(sha256-[0-9a-f]{12}…, 1\.0 MiB\); --force pulls it again$/);
  });

  it('a checksum mismatch is one line on stderr, exit 1, and nothing kept', async () => {
    const r = await bento(home, ['image', 'pull', 'ubuntu-24.04'], { env });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(/^bento: ubuntu-24\.04: sha256 checksum mismatch for ubuntu-24\.04-server-cloudimg-\w+\.img: expected [0-9a-f]{64}, got [0-9a-f]{64} \(checksum file http:\/\/127\.0\.0\.1:\d+\/ubuntu-24\.04\/\w+\/SHA256SUMS\); the download was discarded$/);
    expect(fs.readdirSync(path.join(home, 'images', 'partial'))).toEqual([]);
  });

  it('ls --json lists what is cached and the catalog; rm removes an image and its refs', async () => {
    const ls = await bento(home, ['image', 'ls', '--json'], { env });
    expect(ls.exitCode, ls.stderr).toBe(0);
    const list = JSON.parse(ls.stdout) as ImageList;
    expect(list.cached.map((i) => i.refs)).toEqual([[`alpine-3.24:${hostArch()}`], [`debian-12:${hostArch()}`]]);
    expect(list.cached.find((i) => i.id === 'debian-12')).toMatchObject({ sha256: debian.sha256, usedBy: [], format: 'qcow2', url: expect.stringContaining(server.url) as unknown });
    expect(list.catalog.filter((e) => e.cached).map((e) => e.id).sort()).toEqual(['alpine-3.24', 'debian-12']);
    const table = await bento(home, ['image', 'ls'], { env });
    expect(table.stdout).toMatch(new RegExp(`^REF +SHA256 +SIZE +FORMAT +PULLED +USED BY\\n(.*\\n)?debian-12 +${debian.sha256.slice(0, 12)} +8\\.0 MiB +qcow2 +just now +-`, 'm'));
    expect(table.stdout).toMatch(/^not pulled: debian-13, ubuntu-24\.04, fedora-44 \(bento image pull ID/m);

    const rm = await bento(home, ['image', 'rm', 'debian-12'], { env });
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect(rm.stdout.trim()).toBe('removed debian-12');
    const after = JSON.parse((await bento(home, ['image', 'ls', '--json'], { env })).stdout) as ImageList;
    expect(after.cached.map((i) => i.id)).toEqual(['alpine-3.24']);
    expect(fs.readdirSync(path.join(home, 'images')).filter((n) => n.includes(debian.sha256))).toEqual([]);
    const again = await bento(home, ['image', 'rm', 'debian-12'], { env });
    expect(again.exitCode).toBe(1);
    expect(again.stderr.trim()).toBe('bento: no cached image debian-12 (bento image ls lists them)');
  });
});
