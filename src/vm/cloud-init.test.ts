import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BentoError } from './errors.js';
import { FINAL_MARKER, FINAL_RE, MOUNT_BOOTCMD, MOUNT_SCRIPT, baseCloudConfig, mergeCloudConfig, seedFiles, userDataProblem, writeSeedIso, type SeedInput } from './cloud-init.js';
import { guestMountScript } from './mounts.js';
import type { MountSpec } from './types.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJx1q0c0Yk1Oq6A7mZ3f4m3l6Gm5o5m7ZQm4e0QvS1bA bento@host';
const KEY2 = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 me@laptop';

function input(extra: Partial<SeedInput> = {}, ref = 'debian-12'): SeedInput {
  return {
    spec: {
      name: 'web-1',
      cloudInit: { user: 'alice', instanceId: 'bento-0123456789abcdef' },
      image: { ref, sha256: 'a'.repeat(64), path: '/cache/base.qcow2', format: 'qcow2' },
    },
    sshKeys: [KEY, KEY2],
    userData: null,
    ...extra,
  };
}

type Config = Record<string, unknown> & { users: Record<string, unknown>[] };

/** The cloud-config of a user-data file: its `#cloud-config` first line and the YAML mapping after it. */
function cloudConfig(text: string): Config {
  expect(text.startsWith('#cloud-config\n')).toBe(true);
  return parse(text) as Config;
}

/** A MIME multipart user-data, split the way a mail parser does (the line end before a boundary is the boundary's). */
function parseMultipart(text: string): { headers: string[]; parts: { headers: string[]; body: string }[] } {
  const [head, ...rest] = text.split('\n\n');
  const headers = head!.split('\n');
  const boundary = /boundary="([^"]+)"/.exec(headers[0]!)?.[1];
  expect(boundary).toBeTruthy();
  const body = rest.join('\n\n');
  expect(body.startsWith(`--${boundary}\n`)).toBe(true);
  expect(body.endsWith(`\n--${boundary}--\n`)).toBe(true);
  const inner = body.slice(`--${boundary}\n`.length, -`\n--${boundary}--\n`.length);
  const parts = inner.split(`\n--${boundary}\n`).map((p) => {
    const i = p.indexOf('\n\n');
    return { headers: p.slice(0, i).split('\n'), body: p.slice(i + 2) };
  });
  return { headers, parts };
}

describe('seedFiles without user-data', () => {
  it('writes meta-data with the instance id and the VM name as hostname', () => {
    const meta = parse(seedFiles(input())['meta-data']) as Record<string, unknown>;
    expect(meta).toEqual({ 'instance-id': 'bento-0123456789abcdef', 'local-hostname': 'web-1' });
  });

  it('writes a cloud-config creating the user with sudo, the keys and a locked password', () => {
    const cfg = cloudConfig(seedFiles(input())['user-data']);
    expect(cfg.hostname).toBe('web-1');
    expect(cfg.users).toHaveLength(1);
    const u = cfg.users[0]!;
    expect(u.name).toBe('alice');
    expect(u.sudo).toBe('ALL=(ALL) NOPASSWD:ALL');
    expect(u.ssh_authorized_keys).toEqual([KEY, KEY2]);
    expect(u.lock_passwd).toBe(true);
    expect(u.shell).toBe('/bin/bash');
    expect(cfg.ssh_pwauth).toBe(false);
    expect(cfg.disable_root).toBe(true);
    // The host keys must reach the console: nothing is blacklisted.
    expect(cfg.ssh_key_console_blacklist).toEqual([]);
    expect(cfg.ssh_fp_console_blacklist).toEqual([]);
  });

  it('sets a final message the readiness watch recognises', () => {
    const cfg = cloudConfig(seedFiles(input())['user-data']);
    expect(cfg.final_message).toEqual(expect.stringContaining(FINAL_MARKER));
    // What cloud-init prints after substituting $UPTIME.
    const printed = String(cfg.final_message).replace('$UPTIME', '12.34');
    expect(FINAL_RE.test(`[   40.1] cloud-init[612]: ${printed}\r\n`)).toBe(true);
    expect(FINAL_RE.test('Cloud-init v. 22.4.2 finished at Mon, 30 Nov 2026 07:22:04 +0000. Datasource DataSourceNoCloud.')).toBe(true);
    expect(FINAL_RE.test('Cloud-init v. 22.4.2 running \'modules:final\'')).toBe(false);
  });

  it('leaves out the shell on Alpine images, which have no bash', () => {
    expect(cloudConfig(seedFiles(input({}, 'alpine-3.20'))['user-data']).users[0]).not.toHaveProperty('shell');
    expect(cloudConfig(seedFiles(input({}, 'Alpine'))['user-data']).users[0]).not.toHaveProperty('shell');
    expect(baseCloudConfig(input({}, 'ubuntu-24.04')).users).toEqual([expect.objectContaining({ shell: '/bin/bash' })]);
  });

  it('keeps a key with YAML-special characters intact', () => {
    const odd = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA "quoted": #not-a-comment';
    expect(cloudConfig(seedFiles(input({ sshKeys: [odd] }))['user-data']).users[0]!.ssh_authorized_keys).toEqual([odd]);
  });

  it('refuses a spec without cloud-init settings', () => {
    const i = input();
    expect(() => seedFiles({ ...i, spec: { ...i.spec, cloudInit: null } })).toThrow(BentoError);
  });
});

describe('seedFiles with a cloud-config user-data', () => {
  const theirs = [
    '#cloud-config',
    'hostname: custom-host',
    'users:',
    '  - name: bob',
    '    groups: [docker]',
    'packages:',
    '  - nginx',
    '  - htop',
    'ssh_pwauth: true',
    'write_files:',
    '  - path: /etc/motd',
    '    content: hello',
    '',
  ].join('\n');

  it('concatenates the users lists with bento\'s user first', () => {
    const cfg = cloudConfig(seedFiles(input({ userData: theirs }))['user-data']);
    expect(cfg.users.map((u) => u.name)).toEqual(['alice', 'bob']);
    expect(cfg.users[0]!.ssh_authorized_keys).toEqual([KEY, KEY2]);
    expect(cfg.users[1]).toEqual({ name: 'bob', groups: ['docker'] });
  });

  it('keeps keys only the user set, and lets the user\'s scalars win', () => {
    const cfg = cloudConfig(seedFiles(input({ userData: theirs }))['user-data']);
    expect(cfg.packages).toEqual(['nginx', 'htop']);
    expect(cfg.write_files).toEqual([{ path: '/etc/motd', content: 'hello' }]);
    expect(cfg.hostname).toBe('custom-host');
    expect(cfg.ssh_pwauth).toBe(true);
    // bento's own keys the user did not touch stay.
    expect(cfg.final_message).toEqual(expect.stringContaining(FINAL_MARKER));
    expect(cfg.manage_etc_hosts).toBe(true);
  });

  it('keeps the marker the readiness watch waits for when the user sets a final_message of their own', () => {
    const cfg = cloudConfig(seedFiles(input({ userData: '#cloud-config\nfinal_message: "all done after $UPTIME s"\n' }))['user-data']);
    const printed = String(cfg.final_message).replaceAll('$UPTIME', '9.5');
    expect(printed).toContain('all done after 9.5 s');
    expect(FINAL_RE.test(printed)).toBe(true);
    // An empty or null one is no message: cloud-init would print its default, ours stands.
    for (const v of ['""', 'null']) {
      expect(cloudConfig(seedFiles(input({ userData: `#cloud-config\nfinal_message: ${v}\n` }))['user-data']).final_message).toBe(baseCloudConfig(input()).final_message);
    }
  });

  it('merges nested mappings key by key', () => {
    const cfg = cloudConfig(seedFiles(input({ userData: '#cloud-config\ngrowpart:\n  mode: "off"\n' }))['user-data']);
    expect(cfg.growpart).toEqual({ mode: 'off', devices: ['/'] });
  });

  it('an empty cloud-config is bento\'s own', () => {
    expect(seedFiles(input({ userData: '#cloud-config\n' }))['user-data']).toBe(seedFiles(input())['user-data']);
  });

  it('accepts CRLF line ends', () => {
    const cfg = cloudConfig(seedFiles(input({ userData: '#cloud-config\r\npackages:\r\n  - git\r\n' }))['user-data']);
    expect(cfg.packages).toEqual(['git']);
  });
});

describe('mergeCloudConfig', () => {
  it('maps merge, lists concatenate ours first, their scalars and type changes win', () => {
    expect(mergeCloudConfig({ a: 1, l: [1], m: { x: 1, y: 2 } }, { a: 2, l: [2], m: { y: 3 }, n: true })).toEqual({
      a: 2,
      l: [1, 2],
      m: { x: 1, y: 3 },
      n: true,
    });
    expect(mergeCloudConfig({ l: [1] }, { l: 'scalar' })).toEqual({ l: 'scalar' });
    expect(mergeCloudConfig({ m: { x: 1 } }, { m: null })).toEqual({ m: null });
    expect(mergeCloudConfig(1, undefined)).toBe(1);
  });

  it('does not change its inputs', () => {
    const ours = { l: [1], m: { x: 1 } };
    const theirs = { l: [2], m: { y: 2 } };
    mergeCloudConfig(ours, theirs);
    expect(ours).toEqual({ l: [1], m: { x: 1 } });
    expect(theirs).toEqual({ l: [2], m: { y: 2 } });
  });
});

describe('seedFiles with other user-data', () => {
  it('puts a shell script beside bento\'s cloud-config in a MIME multipart', () => {
    const script = '#!/bin/sh\necho "hello from the script"\ntouch /done\n';
    const text = seedFiles(input({ userData: script }))['user-data'];
    const mp = parseMultipart(text);
    expect(mp.headers[0]).toMatch(/^Content-Type: multipart\/mixed; boundary="[^"]+"$/);
    expect(mp.headers).toContain('MIME-Version: 1.0');
    expect(mp.parts).toHaveLength(2);
    const [cc, sh] = mp.parts;
    expect(cc!.headers).toContain('Content-Type: text/cloud-config; charset="utf-8"');
    expect(cloudConfig(cc!.body).users[0]!.name).toBe('alice');
    expect(sh!.headers).toContain('Content-Type: text/x-shellscript; charset="utf-8"');
    expect(sh!.body).toBe(script.slice(0, -1));
  });

  it.each([
    ['#include\nhttps://example.com/cc.yaml\n', 'text/x-include-url'],
    ['#cloud-boothook\n#!/bin/sh\necho boot\n', 'text/cloud-boothook'],
    ['#part-handler\ndef list_types(): return []\n', 'text/part-handler'],
  ])('gives %j the content type %s', (userData, type) => {
    const mp = parseMultipart(seedFiles(input({ userData }))['user-data']);
    expect(mp.parts.map((p) => p.headers[0])).toEqual(['Content-Type: text/cloud-config; charset="utf-8"', `Content-Type: ${type}; charset="utf-8"`]);
  });

  it('picks a boundary the parts do not contain', () => {
    const script = '#!/bin/sh\necho ==BENTO-BOUNDARY==\n';
    const text = seedFiles(input({ userData: script }))['user-data'];
    const boundary = /boundary="([^"]+)"/.exec(text)![1]!;
    expect(script).not.toContain(boundary);
    expect(parseMultipart(text).parts[1]!.body).toBe(script.slice(0, -1));
  });
});

describe('userDataProblem', () => {
  it.each([
    '#cloud-config\npackages: [git]\n',
    '#cloud-config\n',
    '#cloud-config',
    '#cloud-config  \r\nusers: []\r\n',
    '#!/bin/bash\necho hi\n',
    '#include\nhttps://example.com/x\n',
    '#cloud-boothook\necho early\n',
    '#part-handler\n',
  ])('accepts %j', (text) => {
    expect(userDataProblem(text)).toBeNull();
  });

  it('refuses cloud-config that is not valid YAML, quoting the parser', () => {
    expect(userDataProblem('#cloud-config\npackages: [git\n')).toMatch(/^is not valid cloud-config YAML: \S/);
    expect(userDataProblem('#cloud-config\na: 1\n a: 2\n  - x\n')).toMatch(/^is not valid cloud-config YAML/);
  });

  it.each(['#cloud-config\n- a\n- b\n', '#cloud-config\njust a string\n', '#cloud-config\n42\n'])('refuses the non-mapping cloud-config %j', (text) => {
    expect(userDataProblem(text)).toMatch(/must be a cloud-config mapping/);
  });

  it.each(['packages: [git]\n', '', 'hello', '#cloud-configuration\na: 1\n', ' #cloud-config\na: 1\n', '#', '<?xml version="1.0"?>'])(
    'refuses the unknown format %j, naming the kinds it takes',
    (text) => {
      expect(userDataProblem(text)).toMatch(/must start with #cloud-config .*#!.*#include.*#cloud-boothook.*#part-handler/);
    },
  );
});

describe('writeSeedIso', () => {
  let dir: string;
  let tmp: string;
  let savedTmp: string | undefined;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-seed-test-'));
    // A private TMPDIR, so "no temp folder left" is checked here and not against other tests.
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-seed-tmp-'));
    savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
  });
  afterEach(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes a cidata volume whose files read back byte for byte, 0600, with no temp files left', async () => {
    const files = seedFiles(input({ userData: '#!/bin/sh\necho "ünïcödé"\n' }));
    const out = path.join(dir, 'cidata.iso');
    await writeSeedIso(out, files);
    expect(execFileSync('isoinfo', ['-d', '-i', out], { encoding: 'utf8' })).toMatch(/^Volume id: cidata$/m);
    for (const name of ['user-data', 'meta-data'] as const) {
      const back = execFileSync('isoinfo', ['-R', '-x', `/${name}`, '-i', out]);
      expect(back.equals(Buffer.from(files[name]))).toBe(true);
    }
    expect(fs.statSync(out).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['cidata.iso']);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('replaces an existing seed', async () => {
    const out = path.join(dir, 'cidata.iso');
    fs.writeFileSync(out, 'old');
    const files = seedFiles(input());
    await writeSeedIso(out, files);
    expect(execFileSync('isoinfo', ['-R', '-x', '/meta-data', '-i', out], { encoding: 'utf8' })).toBe(files['meta-data']);
    expect(fs.readdirSync(dir)).toEqual(['cidata.iso']);
  });

  it('fails with an io-error naming the file, and leaves nothing behind', async () => {
    const out = path.join(dir, 'missing-folder', 'cidata.iso');
    const err = await writeSeedIso(out, seedFiles(input())).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BentoError);
    expect(err).toMatchObject({ code: 'io-error', message: expect.stringContaining(`could not write the cloud-init seed ${out} with genisoimage`) as string });
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  it('says what to install when no ISO writer is on PATH', async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = dir;
    try {
      await expect(writeSeedIso(path.join(dir, 'cidata.iso'), seedFiles(input()))).rejects.toMatchObject({
        code: 'unsupported',
        message: expect.stringContaining('apt-get install genisoimage') as string,
      });
    } finally {
      process.env.PATH = savedPath;
    }
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe('shared folders in the seed', () => {
  const mounts: MountSpec[] = [
    { source: '/home/u/src', target: '/mnt/src', readonly: false, tag: 'bento0', type: 'virtiofs' },
    { source: '/data', target: '/srv/my data', readonly: true, tag: 'bento1', type: '9p' },
  ];

  it('every seed carries the boot-time mount script, and bento\'s bootcmd runs it from the seed at each boot', () => {
    const files = seedFiles(input({ spec: { ...input().spec, mounts } }));
    expect(files[MOUNT_SCRIPT]).toBe(guestMountScript(mounts));
    const cfg = cloudConfig(files['user-data']);
    expect(cfg.bootcmd).toEqual([MOUNT_BOOTCMD]);
    expect(MOUNT_BOOTCMD).toContain('/dev/disk/by-label/cidata');
    expect(MOUNT_BOOTCMD).toContain(`sh "$s/${MOUNT_SCRIPT}"`);
    // A VM with no shares still gets the script (empty), so shares added later reach it.
    expect(seedFiles(input())[MOUNT_SCRIPT]).toBe(guestMountScript([]));
  });

  it("the user's own bootcmd runs after bento's", () => {
    const cfg = cloudConfig(seedFiles(input({ userData: '#cloud-config\nbootcmd:\n  - echo mine\n' }))['user-data']);
    expect(cfg.bootcmd).toEqual([MOUNT_BOOTCMD, 'echo mine']);
  });

  it('the mount script, run by sh, makes each target, mounts each share once, and exits 0 when a mount fails', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-mnt-'));
    try {
      const bin = path.join(dir, 'bin');
      fs.mkdirSync(bin);
      const log = path.join(dir, 'calls');
      // mount records its arguments and fails for bento1; mountpoint says "mounted" only for the first target.
      fs.writeFileSync(path.join(bin, 'mount'), `#!/bin/sh\necho "$*" >> ${log}\ncase "$*" in *bento1*) exit 32;; esac\n`, { mode: 0o755 });
      fs.writeFileSync(path.join(bin, 'mountpoint'), `#!/bin/sh\n[ "$2" = "${dir}/already" ]\n`, { mode: 0o755 });
      const shares: MountSpec[] = [
        { ...mounts[0]!, target: `${dir}/already`, tag: 'bento9' },
        { ...mounts[0]!, target: `${dir}/src` },
        { ...mounts[1]!, target: `${dir}/my data` },
      ];
      const script = path.join(dir, MOUNT_SCRIPT);
      fs.writeFileSync(script, guestMountScript(shares));
      const r = spawnSync('sh', [script], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stderr).toContain(`bento: cannot mount share bento1 on ${dir}/my data`);
      expect(fs.readFileSync(log, 'utf8').trim().split('\n')).toEqual([
        `-t virtiofs -o defaults bento0 ${dir}/src`,
        `-t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro bento1 ${dir}/my data`,
      ]);
      expect(fs.statSync(`${dir}/my data`).isDirectory()).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
