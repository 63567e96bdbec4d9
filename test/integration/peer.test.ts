import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, tempHome, waitFor } from '../helpers/bento.js';

function which(cmd: string): string | null {
  try {
    return execFileSync('which', [cmd], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

describe("bentod refuses a client of another uid even when the socket's modes let it in", () => {
  let home: string;
  beforeAll(async () => {
    home = tempHome();
    expect((await bento(home, ['ls'])).exitCode).toBe(0);
  });
  afterAll(() => cleanupHome(home));

  it('refuses nobody, serves the owner', async () => {
    const setpriv = which('setpriv');
    if (!setpriv) throw new Error('setpriv (util-linux) is needed for this test: apt-get install util-linux');
    if (process.getuid?.() !== 0) throw new Error('this test switches to uid 65534 with setpriv, which needs root');
    const sock = path.join(home, 'bentod.sock');
    expect(fs.statSync(sock).mode & 0o777).toBe(0o600);
    expect(fs.statSync(home).mode & 0o777).toBe(0o700);
    // Open the file modes so that only the peer check stands between nobody and bentod.
    fs.chmodSync(home, 0o777);
    fs.chmodSync(sock, 0o666);
    try {
      const asNobody = await execa(setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', 'curl', '-sS', '--max-time', '5', '--unix-socket', sock, 'http://bentod/api/vms'], { reject: false });
      expect(asNobody.exitCode).not.toBe(0);
      expect(asNobody.stdout).toBe('');
      const owner = await execa('curl', ['-sS', '--unix-socket', sock, 'http://bentod/api/vms'], { reject: false });
      expect(owner.exitCode).toBe(0);
      expect(JSON.parse(owner.stdout)).toEqual([]);
      await waitFor('the refusal in bentod.log', () => fs.readFileSync(path.join(home, 'bentod.log'), 'utf8').includes('refused a client running as uid 65534'), 5000);
    } finally {
      fs.chmodSync(sock, 0o600);
      fs.chmodSync(home, 0o700);
    }
  });
});
