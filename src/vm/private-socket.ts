import type net from 'node:net';

/**
 * Listens on a Unix socket that is 0600 from its first instant (umask 0177 while it is made; a chmod
 * afterwards would leave a window). The umask is restored whether the listen succeeds or fails.
 */
export function listenPrivate(server: net.Server, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const old = process.umask(0o177);
    const failed = (err: Error): void => {
      process.umask(old);
      reject(err);
    };
    server.once('error', failed);
    server.listen(socketPath, () => {
      process.umask(old);
      server.off('error', failed);
      resolve();
    });
  });
}
