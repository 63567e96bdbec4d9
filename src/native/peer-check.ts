// Decides whether a client on bentod's Unix socket may talk to it: the socket file's mode is the
// first fence, this is the second, and the one that still holds if the file's mode is loosened.
import type net from 'node:net';
import { BentoError, errorMessage } from '../vm/errors.js';
import { peerCredentials, type PeerCredentials } from './native.js';

/** Who besides bentod's own user (and root) may connect. */
export interface PeerCheckOptions {
  allowUids: number[];
}

/** The verdict on one client, with a reason fit for the log when it is refused. */
export type PeerCheckResult = { ok: true; creds: PeerCredentials } | { ok: false; reason: string };

/** The pure rule: the same uid as this process, root, or a listed uid. */
export function isPeerAllowed(creds: PeerCredentials, selfUid: number | undefined, allowUids: readonly number[]): boolean {
  return creds.uid === selfUid || creds.uid === 0 || allowUids.includes(creds.uid);
}

/**
 * Checks the client on `socket`. A client whose credentials cannot be read is refused (fail closed);
 * only an unsupported setup throws (BentoError 'unsupported': the addon is missing, or the platform
 * gives sockets no fd), since that is a broken install, not a bad client.
 */
export function checkPeer(socket: net.Socket, opts: PeerCheckOptions): PeerCheckResult {
  let creds: PeerCredentials;
  try {
    creds = peerCredentials(socket);
  } catch (err) {
    if (err instanceof BentoError && err.code === 'unsupported') throw err;
    return { ok: false, reason: `refused a client whose credentials could not be read: ${errorMessage(err)}` };
  }
  // process.getuid is absent on Windows, where no uid can match and only the lists apply.
  const selfUid = process.getuid?.();
  if (isPeerAllowed(creds, selfUid, opts.allowUids)) return { ok: true, creds };
  const pid = creds.pid === null ? 'unknown pid' : `pid ${creds.pid}`;
  const allowed = [selfUid ?? 'none', 0, ...opts.allowUids].join(', ');
  return { ok: false, reason: `refused a client running as uid ${creds.uid} (${pid}): allowed uids are ${allowed}` };
}
