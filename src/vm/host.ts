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
  };
}
