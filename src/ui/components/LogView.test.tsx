import { afterEach, expect, test } from 'vitest';
import { fakeVm } from '../fake-client.js';
import { renderApp, settle, type Harness } from '../test/render-app.js';

let h: Harness;
afterEach(() => h?.unmount());

test('l shows the serial log, cleaned of escapes, following new output; k scrolls back, G follows', async () => {
  h = await renderApp([fakeVm('web')], { rows: 20 });
  const lines = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`);
  h.client.logs.set('web', `${lines.join('\r\n')}\r\n\x1b]52;c;ZXZpbA==\x07\x1b[31mred\x1b[0m\r\n`);
  await h.press('l');
  await h.waitFor('serial log · web');
  await h.waitFor('following · 41 lines');
  expect(h.frame()).toContain('red');
  expect(h.frame()).not.toContain('52;c');
  expect(h.frame()).toContain('line 40');
  await h.press('kkkkk');
  expect(h.frame()).toContain('line 36/41 · G follows');
  expect(h.frame()).not.toContain('line 40');
  // New output keeps arriving without moving the view.
  h.client.appendLog('web', 'new output\r\n');
  await h.waitFor('line 36/42');
  await h.press('G');
  await h.waitFor('new output');
  await h.press('g');
  expect(h.frame()).toContain('line 1 ');
  await h.press('\x1b');
  expect(h.frame()).toContain('NAME');
  // The log view's stream is closed; only the details pane follows the log now.
  await settle(300);
  expect([...h.client.streams.values()]).toEqual(['web']);
});

test('the details pane shows the last serial lines of the selected VM', async () => {
  h = await renderApp([fakeVm('web', { reason: 'guest-shutdown' })], { rows: 40 });
  h.client.appendLog('web', 'BENTO-GUEST-READY\r\n# ');
  await h.waitFor('BENTO-GUEST-READY');
  expect(h.frame()).toContain('── serial');
  expect(h.frame()).toContain('guest-shutdown');
});
