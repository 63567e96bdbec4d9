import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { bento, cleanupHome, createGuest, serialLog, tempHome, typeSerial, waitFor, waitForLog } from '../helpers/bento.js';

/**
 * The console shows exactly the bytes the guest sent: bento-vmm writes the log from the chardev
 * socket stream (QEMU's own logfile duplicated and corrupted characters under load), every viewer
 * and `bento logs` reproduce a 200,000-line flood byte for byte against the guest's own checksum,
 * across bentod being killed mid-flood and across log rotation, and each boot is marked.
 */

const LINES = 200_000;
const EXPECTED = Array.from({ length: LINES }, (_, i) => `${i + 1}\n`).join('');

/** A WebSocket viewer that keeps every byte it gets; `delayMs` makes it read slowly. */
function viewer(home: string, name: string, query: string, delayMs = 0): { bytes: () => Buffer; close: () => void; ready: Promise<void> } {
  const chunks: Buffer[] = [];
  const ws = new WebSocket(`ws+unix://${path.join(home, 'bentod.sock')}:/api/vms/${name}/console?readonly=1&${query}`);
  const ready = new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('error', reject);
  });
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return;
    chunks.push(Buffer.from(data as Buffer));
    if (delayMs > 0) {
      // A slow reader: the socket is not read for delayMs after each message.
      const raw = (ws as unknown as { _socket?: net.Socket })._socket;
      raw?.pause();
      setTimeout(() => raw?.resume(), delayMs);
    }
  });
  ws.on('error', () => undefined);
  return { bytes: () => Buffer.concat(chunks), close: () => ws.terminate(), ready };
}

/**
 * The flood between its markers, and the checksum the guest printed after it. The markers are
 * built from a shell variable, so the echo of the typed command never contains them.
 */
function flood(text: string, tag: string): { body: string; guestSum: string } | null {
  const begin = `${tag}-BEGIN\n`;
  const b = text.indexOf(begin);
  if (b < 0) return null;
  const endRe = new RegExp(`\\n${tag}-END ([0-9a-f]{32})`);
  const m = endRe.exec(text.slice(b));
  if (!m) return null;
  return { body: text.slice(b + begin.length, b + m.index + 1), guestSum: m[1]! };
}

/** Types a command that prints the flood with output post-processing off, so the wire carries the file's bytes. */
function floodCommand(tag: string): string {
  return `stty -opost; T=${tag}; seq 1 ${LINES} > /tmp/f; echo $T-BEGIN; cat /tmp/f; echo $T-END $(md5sum < /tmp/f | cut -c1-32); stty opost\r`;
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

function expectExact(got: { body: string; guestSum: string } | null, who: string): void {
  expect(got, `${who}: the flood markers`).not.toBeNull();
  // Compared against the guest's own checksum and against the expected lines, line by line.
  expect(got!.guestSum, `${who}: guest checksum`).toBe(md5(EXPECTED));
  const lines = got!.body.split('\n');
  lines.pop();
  let wrong = 0;
  for (let i = 0; i < Math.max(lines.length, LINES); i++) if (lines[i] !== String(i + 1)) wrong++;
  expect({ who, lines: lines.length, wrong }).toEqual({ who, lines: LINES, wrong: 0 });
  expect(md5(got!.body), `${who}: bytes`).toBe(got!.guestSum);
}

describe('the console stream is the source of truth', () => {
  let home: string;
  beforeAll(async () => {
    home = tempHome();
    await createGuest(home, 'fl');
    expect((await bento(home, ['start', 'fl'])).exitCode).toBe(0);
    await waitForLog(home, 'fl', 'BENTO-GUEST-READY', 120_000);
  });
  afterAll(async () => {
    await cleanupHome(home);
  });

  it('a fast viewer, a slow viewer (10 ms per read) and bento logs reproduce a 200,000-line flood exactly', async () => {
    const fast = viewer(home, 'fl', 'scrollback=0');
    const slow = viewer(home, 'fl', 'scrollback=0', 10);
    await Promise.all([fast.ready, slow.ready]);
    await typeSerial(home, 'fl', floodCommand('FA'));
    await waitFor('the end of flood FA in the log', () => flood(serialLog(home, 'fl'), 'FA'), 240_000, 500);
    expectExact(flood(serialLog(home, 'fl'), 'FA'), 'serial.log');
    await waitFor('the fast viewer', () => flood(fast.bytes().toString('latin1'), 'FA'), 60_000, 200);
    await waitFor('the slow viewer', () => flood(slow.bytes().toString('latin1'), 'FA'), 120_000, 200);
    expectExact(flood(fast.bytes().toString('latin1'), 'FA'), 'fast viewer');
    expectExact(flood(slow.bytes().toString('latin1'), 'FA'), 'slow viewer');
    fast.close();
    slow.close();
    const logs = await bento(home, ['logs', 'fl'], { timeout: 60_000 });
    expectExact(flood(logs.stdout + '\n', 'FA'), 'bento logs');
  });

  it('a viewer attached after kill -9 and restart of bentod mid-flood gets every byte', async () => {
    const before = serialLog(home, 'fl').length;
    await typeSerial(home, 'fl', floodCommand('FB'));
    await waitFor('flood FB under way', () => serialLog(home, 'fl').indexOf('FB-BEGIN', before) >= 0, 60_000, 100);
    const pid = Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
    // Any command starts a new bentod, which re-adopts the VM; the log kept growing meanwhile.
    expect((await bento(home, ['ls'])).stdout).toMatch(/fl\s+running/);
    const late = viewer(home, 'fl', 'from=boot');
    await late.ready;
    await waitFor('flood FB in the late viewer', () => flood(late.bytes().toString('latin1'), 'FB'), 240_000, 500);
    expectExact(flood(late.bytes().toString('latin1'), 'FB'), 'viewer after bentod restart');
    late.close();
  });

  it('scrollback after stop and start begins with the new boot separator, never the previous boot', async () => {
    expect((await bento(home, ['stop', 'fl'])).exitCode).toBe(0);
    expect((await bento(home, ['start', 'fl'])).exitCode).toBe(0);
    const v = viewer(home, 'fl', 'scrollback=65536');
    await v.ready;
    await waitFor('the separator', () => v.bytes().length > 0, 30_000);
    expect(v.bytes().toString('latin1')).toMatch(/^-- bento: boot 2, \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ --\r\n/);
    expect(v.bytes().toString('latin1')).not.toContain('FB-END');
    v.close();
    await waitForLog(home, 'fl', 'BENTO-GUEST-READY', 120_000, serialLog(home, 'fl').lastIndexOf('-- bento: boot 2'));
    // bento logs shows the current boot by default; --boot -1 the one before; --all both.
    const cur = (await bento(home, ['logs', 'fl'])).stdout;
    expect(cur.startsWith('-- bento: boot 2')).toBe(true);
    expect(cur).not.toContain('FA-END');
    const prev = (await bento(home, ['logs', 'fl', '--boot', '-1'], { timeout: 60_000 })).stdout;
    expect(prev.startsWith('-- bento: boot 1')).toBe(true);
    expect(prev).toContain('FB-END');
    expect(prev).not.toContain('-- bento: boot 2');
    const all = (await bento(home, ['logs', 'fl', '--all'], { timeout: 60_000 })).stdout;
    expect(all.indexOf('-- bento: boot 1')).toBeLessThan(all.indexOf('-- bento: boot 2'));
    const gone = await bento(home, ['logs', 'fl', '--boot', '-5']);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toContain('no longer in the serial log');
  });
});

describe('the serial log is rotated while the VM runs, without loss or duplication', () => {
  let home: string;
  beforeAll(() => {
    home = tempHome();
  });
  afterAll(async () => {
    await cleanupHome(home);
  });

  it('a viewer that follows the whole flood across several rotations gets every byte once', async () => {
    // bentod (and so bento-vmm) reads the cap when it starts: 256 KiB makes the flood rotate ~5 times.
    const env = { BENTO_SERIAL_LOG_CAP: String(256 * 1024) };
    await createGuest(home, 'rot', { virtio: true });
    // The bentod that create started has the default cap: this start runs a new one with the small cap.
    process.kill(Number(fs.readFileSync(path.join(home, 'bentod.pid'), 'utf8')), 'SIGTERM');
    await waitFor('bentod to exit', () => !fs.existsSync(path.join(home, 'bentod.sock')), 10_000);
    expect((await bento(home, ['start', 'rot'], { env })).exitCode).toBe(0);
    await waitForLog(home, 'rot', 'BENTO-GUEST-READY', 120_000);
    const v = viewer(home, 'rot', 'from=boot');
    await v.ready;
    await typeSerial(home, 'rot', floodCommand('FR'));
    await waitFor('flood FR in the viewer', () => flood(v.bytes().toString('latin1'), 'FR'), 240_000, 500);
    expectExact(flood(v.bytes().toString('latin1'), 'FR'), 'viewer across rotations');
    v.close();
    const dir = path.join(home, 'vms', 'rot');
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'log-index.json'), 'utf8')) as { generation: number };
    expect(index.generation).toBeGreaterThanOrEqual(4);
    // Only two generations are kept, each near the cap.
    expect(fs.statSync(path.join(dir, 'serial.log.1')).size).toBeLessThan(256 * 1024 + 64 * 1024);
  });
});
