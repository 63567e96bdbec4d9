import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Mutex } from 'async-mutex';
import { writeFileSync } from 'atomically';
import { BentoError, errorMessage } from './errors.js';

const run = promisify(execFile);

/** An OpenSSH public key line: type, base64 blob, optional comment. */
const PUBKEY_RE = /^((?:ssh|ecdsa|sk-ssh|sk-ecdsa)-[A-Za-z0-9@.-]+) ([A-Za-z0-9+/]+={0,3})(?: (.*))?$/;
/** Where a key type may begin inside a console line. */
const KEY_TYPE_START_RE = /(?:ssh|ecdsa|sk-ssh|sk-ecdsa)-/g;

/** The folder of a home's own SSH key pair. */
export function sshDir(home: string): string {
  return path.join(home, 'ssh');
}

/** bento's own key for a home: made on first use, offered to every image VM of that home. */
export function clientKeyPath(home: string): string {
  return path.join(sshDir(home), 'id_ed25519');
}

const keyLock = new Mutex();

/** Makes the home's key pair when it does not exist yet (ssh-keygen, ed25519, no passphrase); returns its public line. */
export async function ensureClientKey(home: string): Promise<string> {
  return keyLock.runExclusive(async () => {
    const key = clientKeyPath(home);
    if (fs.existsSync(key) && !fs.existsSync(`${key}.pub`)) {
      // Only the public half is gone: derive it, never replace a private key guests already trust.
      try {
        const { stdout } = await run('ssh-keygen', ['-y', '-f', key], { timeout: 30_000 });
        writeFileSync(`${key}.pub`, stdout.trim() + '\n', { mode: 0o644 });
      } catch (err) {
        throw new BentoError('io-error', `${key}.pub is missing and cannot be derived from ${key}: ${errorMessage(err)}`, { cause: err });
      }
    }
    if (!fs.existsSync(key)) {
      fs.mkdirSync(sshDir(home), { recursive: true, mode: 0o700 });
      // Generated under a temp name and renamed, public half first: a crash leaves no half pair.
      const tmp = `${key}.tmp-${process.pid}`;
      fs.rmSync(tmp, { force: true });
      fs.rmSync(`${tmp}.pub`, { force: true });
      try {
        await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `bento@${os.hostname()}`, '-f', tmp], { timeout: 30_000 });
      } catch (err) {
        throw new BentoError('unsupported', `cannot make bento's SSH key with ssh-keygen (install openssh-client): ${errorMessage(err)}`, { cause: err });
      }
      fs.renameSync(`${tmp}.pub`, `${key}.pub`);
      fs.renameSync(tmp, key);
    }
    return fs.readFileSync(`${key}.pub`, 'utf8').trim();
  });
}

/** The user's own public keys (~/.ssh/*.pub), each a valid OpenSSH line; unreadable or odd files are skipped. */
export function userPublicKeys(homedir = os.homedir()): string[] {
  const dir = path.join(homedir, '.ssh');
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.pub')).sort();
  } catch {
    return [];
  }
  const keys: string[] = [];
  for (const n of names) {
    try {
      const st = fs.statSync(path.join(dir, n));
      if (!st.isFile() || st.size > 16 * 1024) continue;
      for (const line of fs.readFileSync(path.join(dir, n), 'utf8').split('\n')) {
        const l = line.trim();
        if (PUBKEY_RE.test(l)) keys.push(l);
      }
    } catch {
      // skip
    }
  }
  return keys;
}

/**
 * The host keys in cloud-init's console block, from the LAST complete block in `text`:
 *   -----BEGIN SSH HOST KEY KEYS-----
 *   ecdsa-sha2-nistp256 AAAA… root@web
 *   ssh-ed25519 AAAA… root@web
 *   -----END SSH HOST KEY KEYS-----
 * Returns `type blob` pairs (comments dropped), or null when no complete block is there.
 */
export function parseHostKeys(text: string): string[] | null {
  const end = text.lastIndexOf('-----END SSH HOST KEY KEYS-----');
  if (end < 0) return null;
  const begin = text.lastIndexOf('-----BEGIN SSH HOST KEY KEYS-----', end);
  if (begin < 0) return null;
  const keys: string[] = [];
  for (const raw of text.slice(begin, end).split('\n').slice(1)) {
    // Lines may carry the console's CR, or a prefix cloud-init's logger added (`ci-info: `), which
    // may itself hold a word like `ssh-gw`: the key starts at the first place a whole key line does.
    const line = raw.replace(/\r/g, '').trim();
    const m = [...line.matchAll(KEY_TYPE_START_RE)].map((s) => PUBKEY_RE.exec(line.slice(s.index))).find((x) => x !== null);
    if (m) keys.push(`${m[1]} ${m[2]}`);
  }
  return keys.length ? keys : null;
}

/** The known_hosts name a VM's keys are filed under (ssh's HostKeyAlias), independent of its port. */
export function hostKeyAlias(vmName: string): string {
  return `bento-${vmName}`;
}

/** Writes the pinned known_hosts (0600, atomically). */
export function writeKnownHosts(file: string, alias: string, keys: string[]): void {
  writeFileSync(file, keys.map((k) => `${alias} ${k}\n`).join(''), { mode: 0o600 });
}

/** The keys pinned in a known_hosts file for an alias (empty when none). */
export function readKnownHosts(file: string, alias: string): string[] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 3 && f[0] === alias)
      .map((f) => `${f[1]} ${f[2]}`);
  } catch {
    return [];
  }
}

/** The system ssh's arguments for a VM: pinned host keys only, bento's key, no agent or config surprises. */
export function sshArgs(e: { host: string; port: number; user: string | null; identityFile: string; knownHostsFile: string; hostKeyAlias: string }, command: string[] = []): string[] {
  return [
    '-p', String(e.port),
    '-i', e.identityFile,
    '-o', `UserKnownHostsFile=${e.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', `HostKeyAlias=${e.hostKeyAlias}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'CheckHostIP=no',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'ConnectTimeout=10',
    ...(e.user ? ['-l', e.user] : []),
    // Options end at the host; what follows is the remote command (joined by ssh, run by the guest's shell).
    e.host,
    ...command,
  ];
}
