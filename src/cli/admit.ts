import type net from 'node:net';
import { errorMessage } from '../vm/errors.js';

/**
 * The peer check bentod applies to every connection: the client's uid must be bentod's own (or
 * root). Without the native addon the socket's 0600 mode in a 0700 folder is the only guard; that is
 * logged once so it is never silent.
 */
export async function makeAdmit(log: (line: string) => void): Promise<((s: net.Socket) => { ok: true } | { ok: false; reason: string }) | undefined> {
  try {
    const { checkPeer } = await import('../native/peer-check.js');
    return (socket) => {
      try {
        const verdict = checkPeer(socket, { allowUids: [] });
        return verdict.ok ? { ok: true } : verdict;
      } catch (err) {
        return { ok: false, reason: `peer credentials unavailable: ${errorMessage(err)}` };
      }
    };
  } catch (err) {
    log(`warning: peer uid check disabled (${errorMessage(err)}); relying on socket file modes`);
    return undefined;
  }
}
