import { BentoError } from './errors.js';

/**
 * Fault injection for the fault tests (test/faults/): inert unless BENTO_TEST_CRASH_AT or
 * BENTO_TEST_FAIL_AT names the point. A crash point kills bentod with SIGKILL right there, the way
 * a power cut or the OOM killer would; a fail point throws as a full disk would.
 */
export function faultPoint(point: string): void {
  if (process.env.BENTO_TEST_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
  if (process.env.BENTO_TEST_FAIL_AT === point) throw new BentoError('io-error', `ENOSPC: no space left on device (injected at ${point})`);
}
