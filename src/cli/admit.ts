import type net from 'node:net';
import { errorMessage } from '../vm/errors.js';

/** bentod's verdict on one client connection. */
export type Admit = (s: net.Socket) => { ok: true } | { ok: false; reason: string };

/**
 * The peer check bentod applies to every connection: the client's uid must be bentod's own (or
 * root). The addon is loaded once, here: without it the socket's 0600 mode in a 0700 folder is the
 * only guard, and that is logged at start so it is never silent.
 */
export async function makeAdmit(log: (line: string) => void): Promise<Admit | undefined> {
  try {
    const [{ checkPeer }, { loadNative }] = await Promise.all([import('../native/peer-check.js'), import('../native/native.js')]);
    loadNative();
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
