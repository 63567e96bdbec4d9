import { afterEach, expect, test } from 'vitest';
import { BentoError } from '../../vm/errors.js';
import type { CreateRequest } from '../../vm/types.js';
import { fakeVm } from '../fake-client.js';
import { renderApp, type Harness } from '../test/render-app.js';

let h: Harness;
afterEach(() => h?.unmount());

const TAB = '\t';
const DOWN = '\x1b[B';

/** The lines of the open form. */
function form(frame: string): string {
  const lines = frame.split('\n');
  const from = lines.findIndex((l) => /New VM|Edit /.test(l));
  const to = lines.findIndex((l, i) => i > from && /Enter (create|save)|creating…|saving…/.test(l));
  return lines.slice(from, to + 1).join('\n');
}

/** The form row of a field: its text from the label to the end of the line. */
function row(frame: string, label: string): string {
  return frame.split('\n').find((l) => l.includes(` ${label} `)) ?? '';
}

test('n opens the form; field errors from bentod appear beside their fields and nothing is created', async () => {
  h = await renderApp([fakeVm('web')], { rows: 30 });
  h.client.failures.set(
    'create',
    new BentoError('invalid-input', 'invalid VM definition', {
      fields: [
        { field: 'name', message: 'must be letters and digits, with single . _ or - between them' },
        { field: 'memory', message: 'must be from 64M to 8192M' },
      ],
    }),
  );
  await h.press('n');
  expect(h.frame()).toContain('New VM');
  expect(row(h.frame(), 'boot from')).toContain('‹ kernel + initrd ›');
  await h.press('bad/name', DOWN, DOWN, '/k', DOWN, DOWN, DOWN, DOWN, '\x15', '0', '\r');
  await h.waitFor('✗ must be from 64M');
  const f = h.frame();
  expect(row(f, 'name')).toMatch(/bad\/name\s+✗ must be letters and digits/);
  expect(row(f, 'memory')).toMatch(/0\s+✗ must be from 64M to 8192M/);
  const sent = h.client.calls.find((c) => c.method === 'create')!.args[0] as CreateRequest;
  expect(sent).toEqual({ name: 'bad/name', kernel: '/k', cpus: 1, memory: '0' });
  // Nothing was created: the table still holds one VM, the form is still open.
  expect(h.store.getState().vms.size).toBe(1);
  expect(f).toContain('New VM');
  // The cursor went to the first field with a problem; fixing it and sending again creates the VM.
  await h.press('\x15', 'good', DOWN, DOWN, DOWN, DOWN, DOWN, DOWN, '\x15', '1G', '\r');
  await h.waitFor('created good: s starts it');
  expect(h.frame()).not.toContain('New VM');
  expect(h.frame()).toMatch(/>good\s+○ stopped/);
  expect(h.client.calls.filter((c) => c.method === 'create').at(-1)!.args[0]).toEqual({ name: 'good', kernel: '/k', cpus: 1, memory: '1G' });
});

test('the boot source changes which fields the form asks for', async () => {
  h = await renderApp([fakeVm('web')]);
  await h.press('n', TAB, '\x1b[C');
  expect(row(h.frame(), 'boot from')).toContain('‹ disk image ›');
  expect(form(h.frame())).toContain(' disk ');
  expect(form(h.frame())).not.toContain(' kernel ');
  await h.press('\x1b[C');
  expect(row(h.frame(), 'boot from')).toContain('‹ ISO installer ›');
  expect(form(h.frame())).toContain(' iso ');
  expect(form(h.frame())).toContain(' disk size ');
  await h.press('\x1b');
  expect(h.frame()).not.toContain('New VM');
  expect(h.client.calls.filter((c) => c.method === 'create')).toHaveLength(0);
});

test('a request error without fields is shown in the form', async () => {
  h = await renderApp([fakeVm('web')]);
  h.client.failures.set('create', new BentoError('already-exists', 'a VM named "web" already exists'));
  await h.press('n', 'web', TAB, TAB, '/k', '\r');
  await h.waitFor('✗ a VM named "web" already exists');
});

test('e edits a stopped VM: only what changed is sent', async () => {
  h = await renderApp([fakeVm('web', { cpus: 1 })]);
  await h.press('e');
  expect(h.frame()).toContain('Edit web');
  expect(row(h.frame(), 'cpus')).toContain('1');
  expect(form(h.frame())).not.toContain(' name ');
  await h.press('\x7f', '2', '\r');
  await h.waitFor('saved web');
  expect(h.client.calls.find((c) => c.method === 'patch')!.args).toEqual(['web', { cpus: 2 }]);
  await h.press('e', '\r');
  await h.waitFor('web: nothing changed');
});
