import { afterEach, expect, test } from 'vitest';
import { fakeVm } from '../fake-client.js';
import { renderApp, settle, type Harness } from '../test/render-app.js';

let h: Harness;
afterEach(() => h?.unmount());

const running = (name: string) => fakeVm(name, { state: 'running', pid: 100, startedAt: new Date().toISOString() });

test('Enter opens the console pane on a running VM; keys go to the guest until Ctrl-]', async () => {
  h = await renderApp([running('web'), fakeVm('x-db')]);
  await h.press('\r');
  await h.waitFor('console · web');
  expect(h.panes).toHaveLength(1);
  const pane = h.panes[0]!;
  pane.show(['BENTO-GUEST-READY', '# ']);
  await h.waitFor('BENTO-GUEST-READY');
  // The hint bar says where the keys go and how to come back.
  expect(h.frame()).toContain('console · web  Ctrl-] back to the table');
  // Everything typed reaches the guest as bytes, Ctrl-C, arrows and Tab included; j is not a table key here.
  await h.press('uname -a\r', '\x03', '\x1b[A', '\t', 'j');
  expect(pane.written.join('')).toBe('uname -a\r\x03\x1b[A\tj');
  expect(h.frame()).toMatch(/>web/);
  // Ctrl-] gives the keys back to the table; what follows it in the same read is a table key.
  await h.press('\x1dj');
  expect(pane.written.join('')).toBe('uname -a\r\x03\x1b[A\tj');
  expect(h.frame()).toMatch(/>x-db/);
  expect(h.frame()).toContain('console · web');
  // Tab focuses the pane again.
  await h.press('\t', 'x');
  expect(pane.written.at(-1)).toBe('x');
  await h.press('\x1d', 'x');
  expect(h.frame()).not.toContain('console · web');
  expect(pane.disposed).toBe(true);
});

test('the pane is sized to its cells and follows full screen', async () => {
  h = await renderApp([running('web')], { rows: 30 });
  await h.press('\r');
  await h.waitFor('console · web');
  const pane = h.panes[0]!;
  const [cols, rows] = pane.sizes[0]!;
  expect(cols).toBe(98);
  expect(rows).toBeGreaterThan(5);
  await h.press('\x1d', 'f');
  await settle(50);
  expect(pane.sizes.at(-1)).toEqual([98, 24]);
  expect(h.frame()).not.toContain('NAME');
  // Leaving a full-screen console brings the split back.
  await h.press('\x1d');
  expect(h.frame()).toContain('NAME');
  // Switching views never restarts the console client.
  expect(h.panes).toHaveLength(1);
});

test('on a stopped VM the pane waits, and connects when the VM runs', async () => {
  h = await renderApp([fakeVm('web')]);
  await h.press('\r');
  await h.waitFor('web is stopped. Press s to start it');
  expect(h.panes).toHaveLength(0);
  await h.press('s');
  await h.waitFor(/console · web.*Enter\/Tab to type/);
  expect(h.panes).toHaveLength(1);
  // The console client ends (the VM stopped): the last screen stays, marked closed.
  h.panes[0]!.show(['last words']);
  await h.waitFor('last words');
  h.client.setState('web', 'stopped', 'guest-shutdown');
  h.panes[0]!.exit(0);
  await h.waitFor(/console · web.* closed/);
  expect(h.frame()).toContain('last words');
});

test('the console command is bento console NAME', async () => {
  h = await renderApp([running('web')]);
  await h.press('\r');
  await h.waitFor('console · web');
  expect(h.specs[0]).toMatchObject({ command: 'bento', args: ['console', 'web'] });
});
