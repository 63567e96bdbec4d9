import fs from 'node:fs';
import os from 'node:os';
import type { HostFacts } from './spec.js';

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
  };
}
