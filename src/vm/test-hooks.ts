import { BentoError } from './errors.js';

/**
 * Test-only fault injection, inert unless BENTO_TEST_CRASH_AT names the point reached. Integration
 * tests use it to kill -9 bentod at an exact instant (a torn create or rm) or to make it throw.
 */

/** Env var naming the point where bentod dies (`<point>`), throws (`throw:<point>`) or rejects (`reject:<point>`). */
export const CRASH_ENV = 'BENTO_TEST_CRASH_AT';

/** Marks a point: SIGKILLs this process, or throws / rejects outside any handler, when the env var asks for it. */
export function crashPoint(point: string, env: NodeJS.ProcessEnv = process.env): void {
  const want = env[CRASH_ENV];
  if (!want) return;
  if (want === point) process.kill(process.pid, 'SIGKILL');
  else if (want === `throw:${point}`) {
    setImmediate(() => {
      throw new Error(`test hook: uncaught exception at ${point}`);
    });
  } else if (want === `reject:${point}`) void Promise.reject(new Error(`test hook: unhandled rejection at ${point}`));
}

/** Env var naming a point where bentod fails the way a full disk would (`<point>`). */
export const FAIL_ENV = 'BENTO_TEST_FAIL_AT';

/** A crash point that can also fail: throws ENOSPC when BENTO_TEST_FAIL_AT names it. */
export function faultPoint(point: string, env: NodeJS.ProcessEnv = process.env): void {
  crashPoint(point, env);
  if (env[FAIL_ENV] === point) throw new BentoError('io-error', `ENOSPC: no space left on device (injected at ${point})`);
}
