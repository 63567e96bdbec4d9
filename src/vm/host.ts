import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostFacts } from './spec.js';
import { chooseMountType, findVirtiofsd } from './virtiofsd.js';

/** The real host's facts for validation. */
export function realHost(): HostFacts {
  return {
    cpus: os.availableParallelism(),
    memoryMiB: Math.floor(os.totalmem() / (1024 * 1024)),
    stat(p) {
      try {
        return fs.statSync(p).isFile() ? 'file' : 'other';
      } catch {
        return 'missing';
      }
    },
    readHead(p, n) {
      let fd: number | null = null;
      try {
        fd = fs.openSync(p, 'r');
        const buf = Buffer.alloc(n);
        return buf.subarray(0, fs.readSync(fd, buf, 0, n, 0));
      } catch {
        return null;
      } finally {
        if (fd !== null) fs.closeSync(fd);
      }
    },
    arch: process.arch === 'arm64' ? 'arm64' : 'x64',
    realDir(p) {
      try {
        const real = fs.realpathSync(p);
        return fs.statSync(real).isDirectory() ? real : 'not-a-directory';
      } catch {
        return 'missing';
      }
    },
    mountType: (backend, readonly) => chooseMountType(backend, readonly, backend === 'qemu' ? findVirtiofsd() : null),
  };
}

/** The executable `cmd` in a folder of PATH, or null when there is none. */
export function findOnPath(cmd: string, pathVar = process.env.PATH ?? ''): string | null {
  for (const d of pathVar.split(path.delimiter)) {
    if (!d) continue;
    const p = path.join(d, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // next folder
    }
  }
  return null;
}
