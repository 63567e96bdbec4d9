import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bento, cleanupHome, client, createGuest, serialLog, tempHome, typeSerial, waitFor, waitForLog } from '../helpers/bento.js';

describe('a real guest under TCG: create, start, logs, pause, resume, stop, rm', () => {
  let home: string;
  beforeAll(() => {
    home = tempHome();
  });
  afterAll(() => cleanupHome(home));

  it('runs the whole life of two VMs', async () => {
    await createGuest(home, 'aware', { acpi: 'poweroff' });
    await createGuest(home, 'stubborn', { acpi: 'ignore' });

    const ls0 = await bento(home, ['ls', '--json']);
    const listed = JSON.parse(ls0.stdout) as { name: string; state: string; accel: string }[];
    expect(listed.map((v) => [v.name, v.state, v.accel])).toEqual([
      ['aware', 'stopped', 'tcg'],
      ['stubborn', 'stopped', 'tcg'],
    ]);

    const [s1, s2] = await Promise.all([bento(home, ['start', 'aware']), bento(home, ['start', 'stubborn'])]);
    expect(s1.exitCode, s1.stderr).toBe(0);
    expect(s2.exitCode, s2.stderr).toBe(0);
    expect(s1.stdout).toMatch(/^aware running \(pid \d+, accel tcg, ssh 127\.0\.0\.1:\d+\)$/m);

    // The ready marker shows up through `bento logs`, not just in the file.
    await waitFor('BENTO-GUEST-READY in `bento logs aware`', async () => (await bento(home, ['logs', 'aware'])).stdout.includes('BENTO-GUEST-READY'), 120_000, 500);
    await waitForLog(home, 'stubborn', 'BENTO-GUEST-READY', 120_000);

    // Pause: the guest's clock stands still, so a once-a-second ticker prints nothing while paused.
    await typeSerial(home, 'aware', 'while true; do echo tick-$(cat /proc/uptime | cut -d. -f1); sleep 1; done &\n');
    await waitForLog(home, 'aware', 'tick-', 30_000);
    const p = await bento(home, ['pause', 'aware']);
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.stdout.trim()).toBe('aware paused');
    expect((await client(home).get('aware')).state).toBe('paused');
    const frozen = serialLog(home, 'aware').length;
    await new Promise((r) => setTimeout(r, 3000));
    expect(serialLog(home, 'aware').length).toBe(frozen);

    const r = await bento(home, ['resume', 'aware']);
    expect(r.stdout.trim()).toBe('aware running');
    await waitFor('ticks after resume', () => serialLog(home, 'aware').length > frozen, 30_000);
    // Guest uptime did not advance by the 3 s the VM was paused.
    const ticks = [...serialLog(home, 'aware').matchAll(/tick-(\d+)/g)].map((m) => Number(m[1]));
    const gaps = ticks.slice(1).map((t, i) => t - (ticks[i] ?? t));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2);

    // Graceful stop of the ACPI-aware guest.
    const t0 = Date.now();
    const st = await bento(home, ['stop', 'aware', '--timeout', '60']);
    expect(st.exitCode, st.stderr).toBe(0);
    expect(st.stdout.trim()).toBe('aware stopped (guest-shutdown)');
    expect(serialLog(home, 'aware')).toContain('BENTO-GUEST-POWEROFF');
    expect(Date.now() - t0).toBeLessThan(60_000);

    // The stubborn guest ignores the button; after the timeout it is forced.
    const t1 = Date.now();
    const sf = await bento(home, ['stop', 'stubborn', '--timeout', '3']);
    expect(sf.exitCode, sf.stderr).toBe(0);
    expect(sf.stdout.trim()).toBe('stubborn stopped (forced)');
    expect(Date.now() - t1).toBeGreaterThanOrEqual(3000);

    const ls = await bento(home, ['ls']);
    expect(ls.stdout.split('\n')[0]).toMatch(/^NAME\s+STATE\s+GUEST\s+CPUS\s+MEMORY\s+ACCEL\s+UPTIME\s+SSH$/);
    expect(ls.stdout).toMatch(/aware\s+stopped\s+-\s+1\s+256M\s+tcg\s+-\s+-/);

    const events = fs.readFileSync(path.join(home, 'vms', 'aware', 'events.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { state: string; reason: string | null });
    expect(events.map((e) => e.state)).toEqual(['starting', 'running', 'pausing', 'paused', 'resuming', 'running', 'stopping', 'stopped']);

    for (const name of ['aware', 'stubborn']) {
      const rm = await bento(home, ['rm', name]);
      expect(rm.exitCode, rm.stderr).toBe(0);
      expect(fs.existsSync(path.join(home, 'vms', name))).toBe(false);
    }
    expect(JSON.parse((await bento(home, ['ls', '--json'])).stdout)).toEqual([]);
  });
});
