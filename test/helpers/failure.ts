import { expect } from 'vitest';
import { BentoError } from '../../src/vm/errors.js';

/** The BentoError a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function failure(p: Promise<unknown>): Promise<BentoError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BentoError);
    return err as BentoError;
  }
  throw new Error('expected a failure');
}
