// On Linux the vz backend is refused by the real bento and bentod, with one line that says why; no
// guest is needed (validation stops before anything boots), so the "kernel" is any regular file.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, BENTO, cleanupHome, client, ROOT, tempHome } from '../helpers/bento.js';
import { fakeEnv, helperConfig } from '../helpers/vz-fixture.js';

describe.runIf(process.platform === 'linux')('--backend vz on Linux', () => {
  let home: string;
  let kernel: string;
  beforeAll(() => {
    if (!fs.existsSync(BENTO)) throw new Error(`${BENTO} is missing: run \`npm run build\` first`);
    home = tempHome();
    kernel = path.join(home, 'vmlinuz');
    fs.writeFileSync(kernel, 'x');
  });
  afterAll(() => cleanupHome(home));

  it('bento create refuses it with one line naming the reason, and creates nothing', async () => {
    const r = await bento(home, ['create', 'mac', '--backend', 'vz', '--kernel', kernel]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      'bento: invalid VM definition: backend vz is unavailable here: it needs macOS (Apple Virtualization.framework) and this host runs linux; use --backend qemu',
    ]);
    expect(fs.readdirSync(path.join(home, 'vms'))).toEqual([]);
  });

  it('the API answers 400 with a field error on backend, and lists only qemu', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ socketPath: path.join(home, 'bentod.sock'), method: 'POST', path: '/api/vms', headers: { 'content-type': 'application/json' } }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ name: 'mac', backend: 'vz', kernel }));
    });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'invalid-input', fields: [{ field: 'backend', message: expect.stringMatching(/needs macOS .* this host runs linux/) }] } });
    expect((await client(home).version()).backends).toEqual(['qemu']);
  });

  it('the shipped helper (dist/vz-helper.js) refuses the test fake even with the test flags set', async () => {
    const dir = path.join(home, 'helper');
    fs.mkdirSync(dir);
    const cfg = path.join(dir, 'vz-helper.json');
    fs.writeFileSync(cfg, JSON.stringify(helperConfig(dir)));
    const r = await execa(process.execPath, [path.join(ROOT, 'dist', 'vz-helper.js'), cfg], { env: fakeEnv({}, path.join(dir, 'calls')), reject: false });
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'failed', error: { kind: 'binding', message: expect.stringMatching(/only honoured by tests in a source checkout/) } });
    expect(fs.existsSync(path.join(dir, 'calls'))).toBe(false);
  });
});
