// A QEMU migration stream to and from a file, through a Unix socket that bentod serves (save) or
// connects to (restore); bentod itself writes and reads the file.
//
// Why not `exec:cat > FILE` (QEMU 7.2 has no `file:` URI): with exec: QEMU may report `completed`
// before the `cat` it spawned has written the last of the pipe, and some QEMU versions SIGTERM that
// process when they close the channel, so a "completed" file can be short. Through a socket bentod sees
// the stream's EOF and every byte itself, fsyncs what it wrote, counts honest progress, and no shell
// ever sees the path (BENTO_HOME may hold any character). If bentod dies mid-save the stream breaks,
// QEMU's migration fails and the guest is left paused and whole: recovery just lets it run on.
import fs from 'node:fs';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';
import { BentoError, errorMessage } from '../../errors.js';
import { faultPoint } from '../../test-hooks.js';
import type { ProgressReporter } from '../driver.js';
import type { QmpClient } from './qmp.js';

/** QEMU throttles migration by default (32 MiB/s in 7.2); a save to a local file should go at disk speed. */
export const UNTHROTTLED_BYTES_PER_SEC = 2 ** 40;
/** How often the migration status is polled. */
const POLL_MS = 100;
/** A save or restore whose stream moves no byte for this long is given up. */
export const STALL_MS = 120_000;
/** QMP calls made while a stream runs are short. */
const QMP_MS = 5_000;

/** Migration statuses in which a stream is still under way. */
export const ACTIVE_MIGRATION = new Set(['setup', 'active', 'pre-switchover', 'device', 'postcopy-active', 'postcopy-paused', 'postcopy-recover', 'colo', 'wait-unplug', 'cancelling']);

/** The part of query-migrate bento reads. */
export interface MigrationInfo {
  status?: string;
  'error-desc'?: string;
  'blocked-reasons'?: string[];
  ram?: { total?: number; remaining?: number; transferred?: number };
}

/** The migration URI of a Unix socket; QEMU takes the rest of the string verbatim as the path. */
export function unixUri(socket: string): string {
  return `unix:${socket}`;
}

/** Percent of RAM sent (0-99 while under way), from query-migrate's ram figures; null when unknown. */
export function migrationPercent(info: MigrationInfo): number | null {
  const total = info.ram?.total;
  const remaining = info.ram?.remaining;
  if (!total || remaining === undefined) return null;
  return Math.max(0, Math.min(99, Math.floor(((total - remaining) / total) * 100)));
}

/** Refuses a save QEMU would refuse (a mounted 9p share, a device without migration support), in QEMU's words. */
export async function checkMigrationBlockers(qmp: QmpClient, name: string): Promise<void> {
  const info = await qmp.execute<MigrationInfo>('query-migrate', undefined, { timeoutMs: QMP_MS });
  if (info.status && ACTIVE_MIGRATION.has(info.status)) throw new BentoError('busy', `${name}: a migration of this VM is already under way`);
  const reasons = info['blocked-reasons'] ?? [];
  if (reasons.length > 0) throw new BentoError('unsupported', `${name} cannot be suspended: QEMU says: ${reasons.join('; ')}`);
}

function listen(server: net.Server, socket: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Saves the (paused) VM's state into `file` (created here, must not exist): QEMU migrates to a socket
 * bentod listens on and bentod writes what arrives. Resolves once QEMU says `completed` and the stream
 * has ended with every byte written (the caller fsyncs and renames); on failure the migration is
 * cancelled and the error carries QEMU's own description.
 */
export async function saveToFile(qmp: QmpClient, socket: string, file: string, onProgress?: ProgressReporter): Promise<void> {
  fs.rmSync(socket, { force: true });
  const fd = fs.openSync(file, 'wx', 0o600);
  let bytes = 0;
  let lastMove = Date.now();
  const server = net.createServer();
  let received: Promise<void> | null = null;
  const connected = new Promise<void>((resolve) => {
    server.once('connection', (conn) => {
      // One stream only: nobody else gets to write into the state.
      server.close();
      conn.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        lastMove = Date.now();
        onProgress?.({ doneBytes: bytes });
      });
      received = pipeline(conn, fs.createWriteStream('', { fd, autoClose: false }));
      received.catch(() => undefined);
      resolve();
    });
  });
  try {
    await listen(server, socket);
    fs.chmodSync(socket, 0o600);
    await qmp.execute('migrate-set-parameters', { 'max-bandwidth': UNTHROTTLED_BYTES_PER_SEC }, { timeoutMs: QMP_MS });
    await qmp.execute('migrate', { uri: unixUri(socket) }, { timeoutMs: QMP_MS });
    for (;;) {
      const info = await qmp.execute<MigrationInfo>('query-migrate', undefined, { timeoutMs: QMP_MS });
      if (info.status === 'completed') break;
      if (info.status === 'failed' || info.status === 'cancelled') {
        throw new BentoError('qmp-error', `QEMU could not save the VM: ${info['error-desc'] ?? `migration ${info.status}`}`);
      }
      const percent = migrationPercent(info);
      if (percent !== null) onProgress?.({ doneBytes: bytes, percent });
      if (Date.now() - lastMove > STALL_MS) throw new BentoError('timeout', `the save stalled: no byte in ${STALL_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    await connected;
    // QEMU closes the stream right after `completed`; the stream's end is what proves every byte is here.
    await Promise.race([
      received!,
      new Promise((_, reject) => setTimeout(() => reject(new BentoError('timeout', 'QEMU said the save completed but did not end the stream')), 30_000).unref()),
    ]);
    onProgress?.({ doneBytes: bytes, totalBytes: bytes, percent: 100 });
  } catch (err) {
    await qmp.execute('migrate_cancel', undefined, { timeoutMs: QMP_MS }).catch(() => undefined);
    throw err instanceof BentoError ? err : new BentoError('io-error', `saving the VM state to ${file} failed: ${errorMessage(err)}`, { cause: err });
  } finally {
    server.close();
    fs.closeSync(fd);
    fs.rmSync(socket, { force: true });
  }
}

/**
 * Loads a saved state into a qemu started with `-incoming defer`: QEMU listens on a socket, bentod
 * streams the file into it. Resolves once QEMU has loaded it (run state `paused`: the guest has not run
 * yet); rejects when QEMU fails (it exits then) or the stream stalls.
 */
export async function loadFromFile(qmp: QmpClient, socket: string, file: string, onProgress?: ProgressReporter): Promise<void> {
  fs.rmSync(socket, { force: true });
  const total = fs.statSync(file).size;
  await qmp.execute('migrate-incoming', { uri: unixUri(socket) }, { timeoutMs: QMP_MS });
  const conn = await new Promise<net.Socket>((resolve, reject) => {
    const c = net.connect(socket);
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
  let bytes = 0;
  let lastMove = Date.now();
  const input = fs.createReadStream(file);
  input.on('data', (chunk) => {
    if (bytes === 0) faultPoint('restore-streaming');
    bytes += chunk.length;
    lastMove = Date.now();
    onProgress?.({ doneBytes: bytes, totalBytes: total, percent: total ? Math.min(99, Math.floor((bytes / total) * 100)) : null });
  });
  const sent = pipeline(input, conn);
  let sendError: unknown = null;
  sent.catch((err: unknown) => (sendError = err));
  try {
    for (;;) {
      const st = await qmp.execute<{ status: string }>('query-status', undefined, { timeoutMs: QMP_MS });
      if (st.status !== 'inmigrate') {
        if (st.status !== 'paused') throw new BentoError('start-failed', `start-failed: after loading the saved state qemu is ${st.status}, not paused`);
        break;
      }
      if (sendError) throw new BentoError('start-failed', `start-failed: streaming ${file} to qemu failed: ${errorMessage(sendError)}`);
      if (Date.now() - lastMove > STALL_MS) throw new BentoError('start-failed', `start-failed: the restore stalled: qemu took no byte in ${STALL_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    onProgress?.({ doneBytes: bytes, totalBytes: total, percent: 100 });
  } finally {
    input.destroy();
    conn.destroy();
    fs.rmSync(socket, { force: true });
  }
}
