import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, daemonPid, guest, qemuPids, tempHome, waitGone } from '../helpers/bento.js';

type Reply = { status: number; json: Record<string, unknown> & { error?: { code: string; message: string; fields?: { field: string; message: string }[] } } };

function api(home: string, method: string, url: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: path.join(home, 'bentod.sock'), method, path: url, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Reply['json']) : {} }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Stops this home's bentod (VMs are left alone) so the next command starts a fresh one that reloads the store. */
async function restartDaemon(home: string): Promise<void> {
  const pid = daemonPid(home);
  if (pid) {
    process.kill(pid, 'SIGTERM');
    await waitGone(pid);
  }
}

type LsVm = { name: string; state: string; reason: string | null; spec: Record<string, unknown> };
async function ls(home: string): Promise<LsVm[]> {
  const r = await bento(home, ['ls', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as LsVm[];
}

describe('broken files are visible, inspectable, removable and fixable', () => {
  let home: string;
  let kernel: string;
  beforeAll(async () => {
    home = tempHome();
    kernel = guest().kernel;
    for (const n of ['trunc', 'garbage', 'typed', 'fine', 'badstate']) {
      const r = await bento(home, ['create', n, '--kernel', kernel, '--accel', 'tcg']);
      expect(r.exitCode, r.stderr).toBe(0);
    }
  });
  afterAll(() => cleanupHome(home));

  it('vm.json has a schemaVersion and no conf __internal__ key, in the file and in ls --json', async () => {
    const raw = JSON.parse(fs.readFileSync(path.join(home, 'vms', 'fine', 'vm.json'), 'utf8')) as Record<string, unknown>;
    expect(raw.schemaVersion).toBe(3);
    expect(raw).not.toHaveProperty('__internal__');
    const r = await bento(home, ['ls', '--json']);
    expect(r.stdout).not.toContain('__internal__');
  });

  it('truncated, garbage and wrong-typed vm.json, and a garbage state.json: every VM is still listed', async () => {
    const vm = (n: string): string => path.join(home, 'vms', n, 'vm.json');
    fs.writeFileSync(vm('trunc'), fs.readFileSync(vm('trunc'), 'utf8').slice(0, 40));
    fs.writeFileSync(vm('garbage'), '\u0000\u00ff garbage');
    fs.writeFileSync(vm('typed'), fs.readFileSync(vm('typed'), 'utf8').replace('"cpus": 1', '"cpus": "one"'));
    fs.writeFileSync(path.join(home, 'vms', 'badstate', 'state.json'), '{{{ not json');
    await restartDaemon(home);
    const vms = await ls(home);
    expect(vms.map((v) => [v.name, v.state])).toEqual([
      ['badstate', 'stopped'],
      ['fine', 'stopped'],
      ['garbage', 'error'],
      ['trunc', 'error'],
      ['typed', 'error'],
    ]);
    expect(vms.find((v) => v.name === 'trunc')!.reason).toMatch(new RegExp(`^corrupt-spec: ${vm('trunc')}: not JSON`));
    expect(vms.find((v) => v.name === 'typed')!.reason).toMatch(/^corrupt-spec: .*typed\/vm\.json: cpus: /);
    const table = await bento(home, ['ls']);
    expect(table.stdout).toMatch(/garbage\s+error/);
  });

  it('inspect shows a broken VM; start refuses it clearly; create of its name says what is wrong', async () => {
    const i = await bento(home, ['inspect', 'garbage', '--json']);
    expect(i.exitCode, i.stderr).toBe(0);
    expect((JSON.parse(i.stdout) as LsVm).reason).toMatch(/^corrupt-spec: /);
    const s = await bento(home, ['start', 'garbage']);
    expect(s.exitCode).toBe(1);
    expect(s.stderr.trim()).toMatch(/^bento: garbage cannot be used: its definition is broken \(corrupt-spec: .*\); delete it with `bento rm garbage`/);
    const c = await bento(home, ['create', 'garbage', '--kernel', kernel]);
    expect(c.stderr).toMatch(/already exists \(its definition is broken/);
  });

  it('PATCH of a broken VM: a partial body is a field error, a complete one rewrites it (a JSON parse error is never a 500)', async () => {
    const partial = await api(home, 'PATCH', '/api/vms/trunc', { cpus: 1 });
    expect(partial.status).toBe(400);
    expect(partial.json.error?.code).toBe('invalid-input');
    expect(partial.json.error?.fields?.map((f) => f.field)).toContain('kernel');
    const full = await api(home, 'PATCH', '/api/vms/trunc', { kernel, cpus: 1, memory: '256M', accel: 'tcg', cmdline: 'console=ttyS0' });
    expect(full.status, JSON.stringify(full.json)).toBe(200);
    expect(full.json.state).toBe('stopped');
    const raw = JSON.parse(fs.readFileSync(path.join(home, 'vms', 'trunc', 'vm.json'), 'utf8')) as Record<string, unknown>;
    expect(raw).toMatchObject({ schemaVersion: 3, name: 'trunc', memoryMiB: 256, cmdline: 'console=ttyS0' });
    // It is an ordinary VM again, also for the next bentod.
    await restartDaemon(home);
    expect((await ls(home)).find((v) => v.name === 'trunc')!.state).toBe('stopped');
  });

  it('rm deletes a broken VM\'s folder, and only that', async () => {
    const outside = path.join(home, 'keep-me.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', outside, '16M']);
    fs.writeFileSync(path.join(home, 'vms', 'typed', 'vm.json'), JSON.stringify({ name: 'typed', disks: [{ path: outside, format: 'qcow2', owned: true, readonly: false }], cpus: 'x' }));
    await restartDaemon(home);
    for (const n of ['garbage', 'typed']) {
      const r = await bento(home, ['rm', n]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(fs.existsSync(path.join(home, 'vms', n))).toBe(false);
    }
    expect(fs.existsSync(outside)).toBe(true);
    expect((await ls(home)).map((v) => v.name)).toEqual(['badstate', 'fine', 'trunc']);
  });

  it('rm refuses a broken VM whose qemu still runs from its folder, naming the pid; rm --force kills it first', async () => {
    expect((await bento(home, ['create', 'running', '--kernel', kernel, '--accel', 'tcg', '--memory', '128M'])).exitCode).toBe(0);
    expect((await bento(home, ['start', 'running'])).exitCode).toBe(0);
    const [pid] = qemuPids(path.join(home, 'vms', 'running'));
    expect(pid).toBeGreaterThan(0);
    fs.writeFileSync(path.join(home, 'vms', 'running', 'vm.json'), '{');
    await restartDaemon(home);
    expect((await ls(home)).find((v) => v.name === 'running')!.state).toBe('error');
    const rm = await bento(home, ['rm', 'running']);
    expect(rm.exitCode).toBe(1);
    expect(rm.stderr).toContain(`a process of it (pid ${pid}) still runs from`);
    expect(fs.existsSync(path.join(home, 'vms', 'running', 'vm.json'))).toBe(true);
    expect((await bento(home, ['rm', 'running', '--force'])).exitCode).toBe(0);
    await waitGone(pid!);
    expect(qemuPids(path.join(home, 'vms', 'running'))).toEqual([]);
    expect(fs.existsSync(path.join(home, 'vms', 'running'))).toBe(false);
  });

  it('an old vm.json written by conf (with __internal__) still loads, and is migrated', async () => {
    const file = path.join(home, 'vms', 'fine', 'vm.json');
    const { schemaVersion: _v, ...spec } = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...spec, __internal__: { migrations: { version: '1.0.0' } } }, null, '\t'));
    await restartDaemon(home);
    const r = await bento(home, ['ls', '--json']);
    expect(r.stdout).not.toContain('__internal__');
    expect((JSON.parse(r.stdout) as LsVm[]).find((v) => v.name === 'fine')!.state).toBe('stopped');
    expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ schemaVersion: 3, name: 'fine' });
  });
});

describe('kill -9 of bentod in the middle of create or rm leaves nothing torn', () => {
  let home: string;
  let kernel: string;
  beforeAll(() => {
    home = tempHome();
    kernel = guest().kernel;
  });
  afterAll(() => cleanupHome(home));

  for (const point of ['create-after-mkdir', 'create-after-provision']) {
    it(`create --disk-size killed at ${point}: the next bentod rolls it back and the name is free`, async () => {
      // The hook is read by the bentod that the command starts, so none may be running.
      await restartDaemon(home);
      const r = await bento(home, ['create', 'torn', '--kernel', kernel, '--disk-size', '64M'], { env: { BENTO_TEST_CRASH_AT: point } });
      expect(r.exitCode).toBe(1);
      expect(fs.existsSync(path.join(home, 'vms', 'torn', '.creating'))).toBe(true);
      // The next command starts a new bentod (without the hook), which recovers at load.
      expect((await ls(home)).map((v) => v.name)).toEqual([]);
      expect(fs.existsSync(path.join(home, 'vms', 'torn'))).toBe(false);
      expect(fs.readFileSync(path.join(home, 'bentod.log'), 'utf8')).toContain('torn: rolled back a create that a previous bentod did not finish');
      const again = await bento(home, ['create', 'torn', '--kernel', kernel, '--disk-size', '64M']);
      expect(again.exitCode, again.stderr).toBe(0);
      const rm = await bento(home, ['rm', 'torn']);
      expect(rm.exitCode, rm.stderr).toBe(0);
    });
  }

  it('rm killed after the rename: the next bentod finishes the delete', async () => {
    expect((await bento(home, ['create', 'doomed', '--kernel', kernel, '--disk-size', '64M'])).exitCode).toBe(0);
    await restartDaemon(home);
    const r = await bento(home, ['rm', 'doomed'], { env: { BENTO_TEST_CRASH_AT: 'rm-after-rename' } });
    expect(r.exitCode).toBe(1);
    expect(fs.readdirSync(path.join(home, 'vms')).filter((f) => f.startsWith('.deleting-doomed-'))).toHaveLength(1);
    expect((await ls(home)).map((v) => v.name)).toEqual([]);
    expect(fs.readdirSync(path.join(home, 'vms'))).toEqual([]);
  });

  it('a folder with no vm.json and no marker is listed as corrupt, not hidden, and rm removes it', async () => {
    fs.mkdirSync(path.join(home, 'vms', 'stray'), { mode: 0o700 });
    fs.writeFileSync(path.join(home, 'vms', 'stray', 'serial.log'), 'x');
    await restartDaemon(home);
    const vms = await ls(home);
    expect(vms.map((v) => [v.name, v.state, v.reason])).toEqual([['stray', 'error', `corrupt-spec: ${path.join(home, 'vms', 'stray', 'vm.json')}: missing`]]);
    expect((await bento(home, ['rm', 'stray'])).exitCode).toBe(0);
    expect(await ls(home)).toEqual([]);
  });
});

describe('a disk belongs to one VM', () => {
  let home: string;
  let kernel: string;
  beforeAll(() => {
    home = tempHome();
    kernel = guest().kernel;
  });
  afterAll(() => cleanupHome(home));

  it('create refuses a disk another VM uses (also through a symlink), naming the owner', async () => {
    expect((await bento(home, ['create', 'owner', '--kernel', kernel, '--disk-size', '32M'])).exitCode).toBe(0);
    const ownerDisk = path.join(home, 'vms', 'owner', 'disk.qcow2');
    const b = await bento(home, ['create', 'borrower', '--kernel', kernel, '--disk', ownerDisk]);
    expect(b.exitCode).toBe(1);
    expect(b.stderr.trim()).toMatch(/^bento: invalid VM definition: disk is already used by VM "owner"/);

    const img = path.join(home, 'mine.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img, '16M']);
    fs.symlinkSync(img, path.join(home, 'alias.qcow2'));
    expect((await bento(home, ['create', 'first', '--kernel', kernel, '--disk', img])).exitCode).toBe(0);
    const r = await api(home, 'POST', '/api/vms', { name: 'second', kernel, disk: path.join(home, 'alias.qcow2') });
    expect(r.status).toBe(400);
    expect(r.json.error?.code).toBe('invalid-input');
    expect(r.json.error?.fields).toEqual([{ field: 'disk', message: expect.stringContaining('already used by VM "first"') as string }]);
    expect(fs.existsSync(path.join(home, 'vms', 'second'))).toBe(false);
    // rm of a VM never deletes a disk it did not make.
    expect((await bento(home, ['rm', 'first'])).exitCode).toBe(0);
    expect(fs.existsSync(img)).toBe(true);
  });

  it('rm of an owner keeps the disk that another (running) VM uses, and says so in the log', async () => {
    const ownerDisk = path.join(home, 'vms', 'owner', 'disk.qcow2');
    // A borrower from before the rule existed: its vm.json is written as an older bento would have.
    expect((await bento(home, ['create', 'borrower', '--kernel', kernel, '--accel', 'tcg', '--memory', '128M'])).exitCode).toBe(0);
    const file = path.join(home, 'vms', 'borrower', 'vm.json');
    const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(file, JSON.stringify({ ...spec, disks: [{ path: ownerDisk, format: 'qcow2', owned: false, readonly: false }] }));
    await restartDaemon(home);
    const s = await bento(home, ['start', 'borrower']);
    expect(s.exitCode, s.stderr).toBe(0);
    const rm = await bento(home, ['rm', 'owner']);
    expect(rm.exitCode, rm.stderr).toBe(0);
    expect(fs.existsSync(ownerDisk)).toBe(true);
    expect(fs.readFileSync(path.join(home, 'bentod.log'), 'utf8')).toMatch(/owner: deleted, but kept disk\.qcow2 is used by VM "borrower"/);
    expect((await ls(home)).map((v) => [v.name, v.state])).toEqual([['borrower', 'running']]);
    expect((await bento(home, ['stop', 'borrower', '--force'])).exitCode).toBe(0);
  });
});
