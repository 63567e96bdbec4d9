import { spawn } from 'node:child_process';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, guest, tempHome, waitFor, waitForLog } from '../helpers/bento.js';

describe('scripts drive bentod with curl over the Unix socket', () => {
  let home: string;
  let sock: string;
  const curl = (...args: string[]) => execa('curl', ['-sS', '--unix-socket', sock, ...args], { reject: false });

  beforeAll(async () => {
    home = tempHome();
    sock = path.join(home, 'bentod.sock');
    expect((await bento(home, ['ls'])).exitCode).toBe(0); // starts bentod
  });
  afterAll(() => cleanupHome(home));

  it('lists, creates, starts, stops and reads /api/events', async () => {
    const g = guest();
    const events: string[] = [];
    const stream = spawn('curl', ['-sSN', '--unix-socket', sock, 'http://bentod/api/events']);
    stream.stdout.on('data', (c: Buffer) => events.push(c.toString()));
    await waitFor('the event stream to open', () => events.join('').includes(': bentod events'), 10_000);

    const version = await curl('http://bentod/api/version');
    expect(JSON.parse(version.stdout)).toMatchObject({ backends: ['qemu'], defaultAccel: 'tcg' });
    expect(JSON.parse((await curl('http://bentod/api/vms')).stdout)).toEqual([]);

    const body = JSON.stringify({ name: 'viacurl', kernel: g.kernel, initrd: g.initrd, cmdline: 'console=ttyS0', memory: '256M', accel: 'tcg' });
    const created = await curl('-w', '\n%{http_code}', '-X', 'POST', '-H', 'content-type: application/json', '-d', body, 'http://bentod/api/vms');
    const [json, code] = created.stdout.split('\n');
    expect(code).toBe('201');
    expect(JSON.parse(json ?? '')).toMatchObject({ name: 'viacurl', state: 'stopped', memoryMiB: 256 });

    const started = await curl('-X', 'POST', 'http://bentod/api/vms/viacurl/start');
    expect(JSON.parse(started.stdout)).toMatchObject({ name: 'viacurl', state: 'running' });
    await waitForLog(home, 'viacurl', 'BENTO-GUEST-READY', 120_000);
    const log = await curl('http://bentod/api/vms/viacurl/log');
    expect(log.stdout).toContain('BENTO-GUEST-READY');

    const stopped = await curl('-X', 'POST', '-d', '{"timeoutMs": 60000}', 'http://bentod/api/vms/viacurl/stop');
    expect(JSON.parse(stopped.stdout)).toMatchObject({ state: 'stopped', reason: 'guest-shutdown' });

    const del = await curl('-w', '%{http_code}', '-X', 'DELETE', 'http://bentod/api/vms/viacurl');
    expect(del.stdout).toBe('204');
    await waitFor('the deleted event on the SSE stream', () => events.join('').includes('event: deleted'), 10_000);
    stream.kill();
    // Blocks of `event:`/`data:` lines: unnamed ones are state changes, named ones definitions.
    const blocks = events
      .join('')
      .split('\n\n')
      .filter((b) => b.includes('data: '))
      .map((b) => ({ type: /^event: (\w+)/m.exec(b)?.[1] ?? 'state', data: JSON.parse(/^data: (.*)$/m.exec(b)![1]!) as { state?: string; name: string } }));
    expect(blocks.filter((b) => b.type === 'state').map((b) => b.data.state)).toEqual(['starting', 'running', 'stopping', 'stopped']);
    expect(blocks.filter((b) => b.type !== 'state').map((b) => [b.type, b.data.name])).toEqual([
      ['created', 'viacurl'],
      ['deleted', 'viacurl'],
    ]);
  });
});
