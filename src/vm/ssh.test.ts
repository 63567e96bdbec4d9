import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BentoError } from './errors.js';
import { clientKeyPath, ensureClientKey, hostKeyAlias, parseHostKeys, readKnownHosts, sshArgs, sshDir, userPublicKeys, writeKnownHosts } from './ssh.js';

const ECDSA = 'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBFwmoFqZzG9rNGEpKPpYbfZ/NdddEIi2xTcDO11EGB3fZjDFkp8BTvSX1f3GS/9OixmBN59SJE8ZkSnHNOlnhMc=';
const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbKr6BSZ+qWI8i2Wx8afWt7puSIJBq+ArObMnnxpL3a';
const ED2 = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFZl8p0bq3U0Hh1vHc2oQm6m1jCq4nJ8+2dWq1yFtQ7X';
const RSA = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDF/unLvmNnm6rZXq8yTv18lT1Mgcz9rUzpCx8AVo4u2EwyF1QGGu/Hrdb+b9PzzxReNfGBznH0y0Daf1LoFUkxCcbrheuVA6RRXR/TpM87tcdmHv7SK5pReX7IRmuDhpgT1yiz24z2a5t8Su9K2n7QiuoyGHvNlmbI';

/** A host-key block as cloud-init's write-ssh-key-fingerprints prints it, with the console's CRLF line ends. */
function block(keys: string[], prefix = ''): string {
  return [`${prefix}-----BEGIN SSH HOST KEY KEYS-----`, ...keys.map((k) => `${prefix}${k} root@web-1`), `${prefix}-----END SSH HOST KEY KEYS-----`].join('\r\n') + '\r\n';
}

/** What a serial console shows around the block: kernel and systemd lines, cloud-init's fingerprints. */
const BEFORE = [
  '[    0.000000] Linux version 6.1.0-18-cloud-amd64 (debian-kernel@lists.debian.org)',
  '[   10.120045] random: crng init done',
  '[  OK  ] Started cloud-final.service - Execute cloud user/final scripts.',
  '<14>Nov 30 07:22:04 ec2: ',
  '<14>Nov 30 07:22:04 ec2: #############################################################',
  '<14>Nov 30 07:22:04 ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----',
  '<14>Nov 30 07:22:04 ec2: 256 SHA256:9mV3hV0QfQ2c9x0m5Jk7m0w5fGxQm1Yk1zqJ3G6M5Qw root@web-1 (ECDSA)',
  '<14>Nov 30 07:22:04 ec2: 256 SHA256:JtA1u9qXh0y5p2kq3m2rWqk5QJ5p7F0Wm1bQ9w0kzVc root@web-1 (ED25519)',
  '<14>Nov 30 07:22:04 ec2: -----END SSH HOST KEY FINGERPRINTS-----',
  '<14>Nov 30 07:22:04 ec2: #############################################################',
  '',
].join('\r\n');
const AFTER = ['[   41.532118] cloud-init[612]: Cloud-init v. 22.4.2 finished at Mon, 30 Nov 2026 07:22:04 +0000.', '', 'web-1 login: '].join('\r\n');

describe('parseHostKeys', () => {
  it('reads the keys of a block in a realistic console capture, dropping comments and CRs', () => {
    expect(parseHostKeys(BEFORE + block([ECDSA, ED]) + AFTER)).toEqual([ECDSA, ED]);
  });

  it('ignores fingerprints and kernel noise between the key lines', () => {
    const text = [
      '-----BEGIN SSH HOST KEY KEYS-----',
      ECDSA + ' root@web-1',
      '[   12.000001] virtio_net virtio0 enp0s1: renamed from eth0',
      '256 SHA256:JtA1u9qXh0y5p2kq3m2rWqk5QJ5p7F0Wm1bQ9w0kzVc root@web-1 (ED25519)',
      ED + ' root@web-1',
      '-----END SSH HOST KEY KEYS-----',
    ].join('\r\n');
    expect(parseHostKeys(text)).toEqual([ECDSA, ED]);
  });

  it('takes the last of two complete blocks (a second boot of the same run, or a re-run of the module)', () => {
    expect(parseHostKeys(BEFORE + block([ED]) + 'noise\r\n' + block([ECDSA, ED2]) + AFTER)).toEqual([ECDSA, ED2]);
  });

  it('is null for a block cut off before its end line', () => {
    expect(parseHostKeys(BEFORE + block([ECDSA, ED]).split('-----END')[0])).toBeNull();
    expect(parseHostKeys(BEFORE + '-----BEGIN SSH HOST KEY KEYS-----\r\n' + ECDSA.slice(0, 40))).toBeNull();
  });

  it('with a complete block and a later cut-off one, reads the complete one', () => {
    expect(parseHostKeys(block([ED]) + '-----BEGIN SSH HOST KEY KEYS-----\r\n' + ECDSA)).toEqual([ED]);
  });

  it('is null without a block, for an end line with no begin line, and for a block without keys', () => {
    expect(parseHostKeys(BEFORE + AFTER)).toBeNull();
    expect(parseHostKeys('')).toBeNull();
    expect(parseHostKeys(`${ED} root@x\r\n-----END SSH HOST KEY KEYS-----\r\n`)).toBeNull();
    expect(parseHostKeys(block([]))).toBeNull();
    expect(parseHostKeys(block(['not a key', 'ssh-ed25519 not*base64']))).toBeNull();
  });

  it('reads lines that carry a logger prefix', () => {
    expect(parseHostKeys(BEFORE + block([ECDSA, ED], 'ci-info: ') + AFTER)).toEqual([ECDSA, ED]);
    expect(parseHostKeys(block([ED, RSA], '<14>Nov 30 07:22:04 ec2: '))).toEqual([ED, RSA]);
    expect(parseHostKeys(block([ED], '[   40.000000] cloud-init[612]: '))).toEqual([ED]);
    // A prefix that itself holds a key-type-like word (a VM named ssh-gw) is still only a prefix.
    expect(parseHostKeys(block([ED, ECDSA], '<14>Nov 30 07:22:04 ssh-gw ec2: '))).toEqual([ED, ECDSA]);
    expect(parseHostKeys(block([ED], 'ecdsa-thing: '))).toEqual([ED]);
  });

  it('reads LF-only line ends as well', () => {
    expect(parseHostKeys(block([ECDSA, ED]).replaceAll('\r\n', '\n'))).toEqual([ECDSA, ED]);
  });
});

describe('known_hosts', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-ssh-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('files the keys under the alias, 0600, and reads them back', () => {
    const file = path.join(dir, 'known_hosts');
    const alias = hostKeyAlias('web-1');
    expect(alias).toBe('bento-web-1');
    writeKnownHosts(file, alias, [ECDSA, ED]);
    expect(fs.readFileSync(file, 'utf8')).toBe(`bento-web-1 ${ECDSA}\nbento-web-1 ${ED}\n`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readKnownHosts(file, alias)).toEqual([ECDSA, ED]);
    expect(readKnownHosts(file, 'bento-other')).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual(['known_hosts']);
  });

  it('replaces the file on a second write', () => {
    const file = path.join(dir, 'known_hosts');
    writeKnownHosts(file, 'bento-a', [ED]);
    writeKnownHosts(file, 'bento-a', [ED2]);
    expect(readKnownHosts(file, 'bento-a')).toEqual([ED2]);
  });

  it('reads only the alias\'s lines of a file with others, comments and blank lines', () => {
    const file = path.join(dir, 'known_hosts');
    fs.writeFileSync(file, `# pinned by bento\n\nbento-b ${ED2}\n  bento-a ${ED} trailing comment  \nbento-a\n[127.0.0.1]:2222 ${RSA}\n`);
    expect(readKnownHosts(file, 'bento-a')).toEqual([ED]);
  });

  it('reads nothing from a missing file', () => {
    expect(readKnownHosts(path.join(dir, 'nope'), 'bento-a')).toEqual([]);
  });

  it('gives ssh a file it accepts for the alias', () => {
    const file = path.join(dir, 'known_hosts');
    writeKnownHosts(file, 'bento-web-1', [ECDSA, ED]);
    const found = execFileSync('ssh-keygen', ['-F', 'bento-web-1', '-f', file], { encoding: 'utf8' });
    expect(found).toContain(ED);
    expect(found).toContain(ECDSA);
  });
});

describe('sshArgs', () => {
  const e = { host: '127.0.0.1', port: 40022, user: 'alice', identityFile: '/h/ssh/id_ed25519', knownHostsFile: '/h/vms/web-1/known_hosts', hostKeyAlias: 'bento-web-1' };

  it('pins the host keys, offers only bento\'s key, names the user, and puts the command after the host', () => {
    const args = sshArgs(e, ['uname', '-a']);
    const opts = args.flatMap((a, i) => (args[i - 1] === '-o' ? [a] : []));
    expect(opts).toEqual(
      expect.arrayContaining([
        'StrictHostKeyChecking=yes',
        'HostKeyAlias=bento-web-1',
        'UserKnownHostsFile=/h/vms/web-1/known_hosts',
        'GlobalKnownHostsFile=/dev/null',
        'IdentitiesOnly=yes',
      ]),
    );
    expect(args.slice(args.indexOf('-p'), args.indexOf('-p') + 2)).toEqual(['-p', '40022']);
    expect(args.slice(args.indexOf('-i'), args.indexOf('-i') + 2)).toEqual(['-i', '/h/ssh/id_ed25519']);
    expect(args.slice(args.indexOf('-l'), args.indexOf('-l') + 2)).toEqual(['-l', 'alice']);
    expect(args.slice(-3)).toEqual(['127.0.0.1', 'uname', '-a']);
    // Every option comes before the host, so the command's words are never read as options.
    expect(args.indexOf('-l')).toBeLessThan(args.indexOf('127.0.0.1'));
    expect(args.lastIndexOf('-o')).toBeLessThan(args.indexOf('127.0.0.1'));
  });

  it('ends with the host when there is no command, and leaves -l out without a user', () => {
    const args = sshArgs({ ...e, user: null });
    expect(args.at(-1)).toBe('127.0.0.1');
    expect(args).not.toContain('-l');
  });

  it('is an argument list ssh itself accepts', () => {
    // -G prints the configuration ssh would use, without connecting.
    const out = execFileSync('ssh', ['-G', ...sshArgs(e)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, HOME: os.tmpdir() } });
    expect(out).toMatch(/^stricthostkeychecking (yes|true)$/m);
    expect(out).toMatch(/^hostkeyalias bento-web-1$/m);
    expect(out).toMatch(/^port 40022$/m);
    expect(out).toMatch(/^user alice$/m);
    expect(out).toMatch(/^identitiesonly yes$/m);
  });
});

describe('ensureClientKey', () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-key-'));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('makes an ed25519 pair on first use: 0600 private half, 0700 folder, the public line returned', async () => {
    const pub = await ensureClientKey(home);
    const key = clientKeyPath(home);
    expect(key).toBe(path.join(sshDir(home), 'id_ed25519'));
    expect(pub).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* bento@/);
    expect(fs.statSync(key).mode & 0o777).toBe(0o600);
    expect(fs.statSync(sshDir(home)).mode & 0o777).toBe(0o700);
    expect(fs.readFileSync(`${key}.pub`, 'utf8').trim()).toBe(pub);
    // The two halves belong together.
    const derived = execFileSync('ssh-keygen', ['-y', '-f', key], { encoding: 'utf8' }).trim();
    expect(pub.startsWith(derived)).toBe(true);
    expect(fs.readdirSync(sshDir(home)).sort()).toEqual(['id_ed25519', 'id_ed25519.pub']);
  });

  it('returns the same key on a second call', async () => {
    const first = await ensureClientKey(home);
    const private1 = fs.readFileSync(clientKeyPath(home));
    expect(await ensureClientKey(home)).toBe(first);
    expect(fs.readFileSync(clientKeyPath(home)).equals(private1)).toBe(true);
  });

  it('makes one pair for two concurrent calls', async () => {
    const [a, b] = await Promise.all([ensureClientKey(home), ensureClientKey(home)]);
    expect(a).toBe(b);
    expect(fs.readFileSync(`${clientKeyPath(home)}.pub`, 'utf8').trim()).toBe(a);
    expect(fs.readdirSync(sshDir(home)).sort()).toEqual(['id_ed25519', 'id_ed25519.pub']);
  });

  it('derives the public half again when only it is gone, keeping the private key guests trust', async () => {
    const first = await ensureClientKey(home);
    const priv = fs.readFileSync(clientKeyPath(home), 'utf8');
    fs.rmSync(`${clientKeyPath(home)}.pub`);
    const second = await ensureClientKey(home);
    expect(second.split(' ').slice(0, 2)).toEqual(first.split(' ').slice(0, 2));
    expect(fs.readFileSync(clientKeyPath(home), 'utf8')).toBe(priv);
    expect(fs.readdirSync(sshDir(home)).sort()).toEqual(['id_ed25519', 'id_ed25519.pub']);
  });

  it('says to install openssh-client when ssh-keygen is missing, and leaves no half pair', async () => {
    const saved = process.env.PATH;
    process.env.PATH = home;
    try {
      const err = await ensureClientKey(home).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BentoError);
      expect(err).toMatchObject({ code: 'unsupported', message: expect.stringContaining('install openssh-client') as string });
    } finally {
      process.env.PATH = saved;
    }
    expect(fs.readdirSync(sshDir(home))).toEqual([]);
  });
});

describe('userPublicKeys', () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-home-'));
  });
  afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

  it('reads the valid key lines of ~/.ssh/*.pub, files in name order', () => {
    const ssh = path.join(home, '.ssh');
    fs.mkdirSync(ssh);
    fs.writeFileSync(path.join(ssh, 'id_ed25519.pub'), `${ED} me@laptop\n`);
    fs.writeFileSync(path.join(ssh, 'id_ecdsa.pub'), `${ECDSA}\n`);
    fs.writeFileSync(path.join(ssh, 'several.pub'), `# my keys\n\n  ${RSA} work key  \r\nnot a key at all\nssh-ed25519 bad!blob\n`);
    // Not public keys: the private half, a folder, other files.
    fs.writeFileSync(path.join(ssh, 'id_ed25519'), '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n');
    fs.mkdirSync(path.join(ssh, 'dir.pub'));
    fs.writeFileSync(path.join(ssh, 'authorized_keys'), `${ED2} other\n`);
    fs.writeFileSync(path.join(ssh, 'known_hosts.pub.bak'), `${ED2} other\n`);
    // Too big to be a public key file.
    fs.writeFileSync(path.join(ssh, 'huge.pub'), `${ED2} big\n`.repeat(400));
    expect(userPublicKeys(home)).toEqual([`${ECDSA}`, `${ED} me@laptop`, `${RSA} work key`]);
  });

  it('is empty without ~/.ssh', () => {
    expect(userPublicKeys(home)).toEqual([]);
  });
});
