import { expect, test } from 'vitest';
import { handOverStatus } from './hand-over.js';

test('coming back from a hand-over says how it ended', () => {
  expect(handOverStatus('ssh', 'web', { exitCode: 0, signal: null, lastError: '' })).toEqual({ text: 'back from ssh web', kind: 'info' });
  expect(handOverStatus('console', 'web', { exitCode: 0, signal: null })).toEqual({ text: 'back from web', kind: 'info' });
  expect(handOverStatus('ssh', 'web', { exitCode: 255, signal: null, lastError: 'Host key verification failed.' })).toEqual({
    text: 'ssh web ended with code 255: Host key verification failed.',
    kind: 'error',
  });
  expect(handOverStatus('ssh', 'web', { exitCode: 3, signal: null, lastError: '' }).text).toBe('ssh web ended with code 3');
  expect(handOverStatus('console', 'web', { exitCode: null, signal: 'SIGKILL' }).text).toBe('the console of web ended with SIGKILL');
});
