import { afterEach, expect, test } from 'vitest';
import { BentoError } from '../../vm/errors.js';
import type { CreateRequest } from '../../vm/types.js';
import { renderApp, type Harness } from '../test/render-app.js';

let h: Harness;
afterEach(() => h?.unmount());

test('with no VMs the TUI offers a demo VM; Enter creates and boots it and opens its console', async () => {
  h = await renderApp([]);
  await h.waitFor('Welcome to bento');
  expect(h.frame()).toContain('guest: /guest');
  await h.press('\r');
  await h.waitFor('console · demo');
  const req = h.client.calls.find((c) => c.method === 'create')!.args[0] as CreateRequest;
  expect(req).toEqual({ name: 'demo', kernel: '/guest/vmlinuz', initrd: '/guest/initrd.img', cmdline: 'console=ttyS0', memory: '256M' });
  expect(h.client.calls.some((c) => c.method === 'start' && c.args[0] === 'demo')).toBe(true);
  expect(h.frame()).toMatch(/demo\s+● running/);
  expect(h.frame()).not.toContain('Welcome to bento');
  // The console pane has the keys.
  await h.press('ls\r');
  expect(h.panes[0]!.written.join('')).toBe('ls\r');
});

test('a missing test guest is explained, with the command that builds it', async () => {
  h = await renderApp([]);
  h.client.failures.set('create', new BentoError('invalid-input', 'invalid', { fields: [{ field: 'kernel', message: 'does not exist: /guest/vmlinuz' }] }));
  await h.waitFor('Welcome to bento');
  await h.press('\r');
  await h.waitFor('npm run guest');
  expect(h.client.vms.size).toBe(0);
  await h.press('\x1b');
  expect(h.frame()).not.toContain('Welcome to bento');
  expect(h.frame()).toContain('No VMs yet. Press n to create one.');
});

test('n in the offer opens the new-VM form instead', async () => {
  h = await renderApp([]);
  await h.waitFor('Welcome to bento');
  await h.press('n');
  await h.waitFor('New VM');
});
