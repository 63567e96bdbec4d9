// How fast bentod's console session can carry output when the guest is not the limit: a separate
// process appends to the log as fast as it can (standing in for bento-vmm's writes and wake-ups, as a fake in
// addition to the real-guest figures of bench/console.ts), and a WebSocket viewer counts what it gets.
// Baseline in the same run: the same writer read back by a plain file tail in this process.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import { ConsoleSession } from '../src/api/console-session.js';

const MB = Number(process.env.CAPACITY_MB ?? 200);
const dir = fs.mkdtempSync('/tmp/bench-cap-');
const log = path.join(dir, 'serial.log');
const chardev = path.join(dir, 'chardev.sock');
const api = path.join(dir, 'api.sock');
fs.writeFileSync(log, '');
// Stands in for bento-vmm's socket: it takes input and sends a one-byte wake-up whenever the log grows.
const wakeClients = new Set<net.Socket>();
const fakeChardev = net
  .createServer((c) => {
    wakeClients.add(c);
    c.on('close', () => wakeClients.delete(c));
    c.resume();
  })
  .listen(chardev);
const logWatch = fs.watch(log, () => {
  for (const c of wakeClients) if (c.writableLength === 0) c.write('w');
});

function writer(): Promise<void> {
  // 64 KiB appends, like a burst of guest output landing in qemu's logfile.
  const code = `const fs=require('fs');const b=Buffer.alloc(65536,97);const fd=fs.openSync(${JSON.stringify(log)},'a');for(let i=0;i<${MB}*16;i++)fs.writeSync(fd,b);`;
  return new Promise((resolve) => spawn(process.execPath, ['-e', code], { stdio: 'inherit' }).on('exit', () => resolve()));
}

async function viaSession(): Promise<{ secs: number; bytes: number; cpu: number }> {
  const session = new ConsoleSession('cap', { socket: chardev, log, device: 'serial' }, () => undefined);
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer().listen(api);
  server.on('upgrade', (req, sock, head) => wss.handleUpgrade(req, sock, head as Buffer, (ws) => session.attach(ws, { force: false, scrollback: 0, readOnly: false, fromBoot: false })));
  await new Promise((r) => server.once('listening', r));
  const ws = new WebSocket(`ws+unix://${api}:/`);
  await new Promise((r) => ws.once('open', r));
  const total = MB * 1024 * 1024;
  let bytes = 0;
  const done = new Promise<void>((resolve) => ws.on('message', (d, bin) => bin && (bytes += (d as Buffer).length) >= total && resolve()));
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all([writer(), done]);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(cpu0);
  ws.close();
  session.close('done');
  server.close();
  return { secs, bytes, cpu: (c.user + c.system) / 1e6 };
}

async function plainTail(): Promise<{ secs: number; bytes: number }> {
  fs.writeFileSync(log, '');
  const total = MB * 1024 * 1024;
  let offset = 0;
  const buf = Buffer.allocUnsafe(256 * 1024);
  const t0 = process.hrtime.bigint();
  const w = writer();
  while (offset < total) {
    const fd = fs.openSync(log, 'r');
    const n = fs.readSync(fd, buf, 0, buf.length, offset);
    fs.closeSync(fd);
    if (n > 0) offset += n;
    else await new Promise((r) => setImmediate(r));
  }
  await w;
  return { secs: Number(process.hrtime.bigint() - t0) / 1e9, bytes: offset };
}

try {
  const base = await plainTail();
  fs.writeFileSync(log, '');
  const s = await viaSession();
  const rate = (r: { secs: number; bytes: number }) => r.bytes / r.secs / 1e6;
  console.log(`bench console capacity: ${MB} MiB appended to the log by another process`);
  console.log(`  plain tail loop        ${rate(base).toFixed(0)} MB/s`);
  console.log(`  session -> WebSocket   ${rate(s).toFixed(0)} MB/s, ${s.bytes === MB * 1024 * 1024 ? 'every byte' : `${s.bytes} bytes`}, ${((s.cpu / s.secs) * 100).toFixed(0)}% of a core (session and viewer in one process)`);
  console.log(`  ratio                  ${(rate(s) / rate(base)).toFixed(2)}   (goal: well over 5 MB/s)`);
} finally {
  logWatch.close();
  for (const c of wakeClients) c.destroy();
  fakeChardev.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
