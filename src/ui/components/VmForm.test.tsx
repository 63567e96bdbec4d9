import { afterEach, describe, expect, test } from 'vitest';
import { BentoError } from '../../vm/errors.js';
import type { CreateRequest } from '../../vm/types.js';
import { fakeVm } from '../fake-client.js';
import { renderApp, type Harness } from '../test/render-app.js';

let h: Harness;
afterEach(() => h?.unmount());

const TAB = '\t';
const DOWN = '\x1b[B';
const RIGHT = '\x1b[C';

/** The lines of the open form. */
function form(frame: string): string {
  const lines = frame.split('\n');
  const from = lines.findIndex((l) => /New VM|Edit /.test(l));
  const to = lines.findIndex((l, i) => i > from && /Enter (create|save)|creating…|saving…/.test(l));
  return lines.slice(from, to + 1).join('\n');
}

/** The form row of a field: its text from the label to the end of the line. */
function row(frame: string, label: string): string {
  const re = new RegExp(`[│║›]\\s+${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s`);
  return frame.split('\n').find((l) => re.test(l)) ?? '';
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
  expect(row(h.frame(), 'boot from')).toContain('‹ cloud image ›');
  // The expert choice: kernel + initrd, one step right of the image.
  await h.press('bad/name', DOWN, RIGHT, DOWN, '/k', DOWN, DOWN, DOWN, DOWN, '\x15', '0', '\r');
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
  await h.press('n', TAB);
  expect(form(h.frame())).toContain(' image ');
  expect(form(h.frame())).toContain(' network ');
  await h.press(RIGHT);
  expect(row(h.frame(), 'boot from')).toContain('‹ kernel + initrd ›');
  expect(form(h.frame())).not.toContain(' image ');
  await h.press(RIGHT);
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

describe('the image form', () => {
  test('the image field offers pulled images first, then the catalog for this host; typing filters, ↓ and Enter take one', async () => {
    h = await renderApp([fakeVm('web')], { rows: 36 });
    await h.press('n');
    await h.waitFor('New VM');
    expect(h.client.calls.filter((c) => c.method === 'images')).toHaveLength(1);
    expect(row(h.frame(), 'memory')).toContain('1G');
    expect(row(h.frame(), 'network')).toMatch(/‹ nat ›\s+outbound and forwarded ports/);
    // The picker shows while the image field has the cursor.
    expect(form(h.frame())).not.toContain('ubuntu-24.04');
    await h.press('db', TAB, TAB);
    let f = form(h.frame());
    const lines = f.split('\n');
    const at = (text: string): number => lines.findIndex((l) => l.includes(text));
    expect(f).toMatch(/● debian-12\s+pulled · 400 MB/);
    expect(f).toMatch(/ubuntu-24\.04\s+Ubuntu 24\.04 LTS/);
    expect(f).toContain('fedora-41');
    // aarch64 only: not offered on this (x64) host.
    expect(f).not.toContain('alpine');
    expect(at('debian-12')).toBeLessThan(at('ubuntu-24.04'));
    expect(at(' image ')).toBeLessThan(at('debian-12'));
    expect(f).toContain('↓ pick an image');
    await h.press('ubu');
    f = form(h.frame());
    expect(f).not.toContain('debian-12');
    expect(f).toContain('ubuntu-24.04');
    await h.press(DOWN);
    expect(h.frame()).toContain('Enter takes this image');
    expect(h.frame()).toMatch(/› {3}ubuntu-24\.04/);
    await h.press('\r');
    expect(row(h.frame(), 'image')).toContain('ubuntu-24.04');
    // Nothing was sent: Enter took the image.
    expect(h.client.calls.filter((c) => c.method === 'create' || c.method === 'pullImage')).toHaveLength(0);
    // A path is taken as typed.
    await h.press('\x15', '/srv/x.qcow2');
    expect(form(h.frame())).toContain('no image matches: a path or URL is taken as typed');
    await h.press('\x1b');
    expect(h.frame()).not.toContain('New VM');
  });

  test('a pulled image: the VM is created at once with image, network and publish', async () => {
    h = await renderApp([fakeVm('web')], { rows: 36 });
    await h.press('n', 'db', TAB, TAB, DOWN, TAB, TAB, TAB, TAB, RIGHT, TAB, '8080:80, 2222:22', '\r');
    await h.waitFor('created db: s starts it');
    expect(h.client.calls.filter((c) => c.method === 'pullImage')).toHaveLength(0);
    expect(h.client.calls.find((c) => c.method === 'create')!.args[0]).toEqual({
      name: 'db',
      image: 'debian-12',
      cpus: 1,
      memory: '1G',
      network: 'restricted',
      publish: ['8080:80', '2222:22'],
    });
    expect(h.frame()).toMatch(/>db\s+○ stopped/);
    expect(h.frame()).toMatch(/image\s+debian-12 \(/);
    expect(h.frame()).toMatch(/publish\s+8080:80\/tcp, 2222:22\/tcp/);
  });

  test('an image not pulled yet: pulled first, the form closes and the row shows the pull, then the VM is created', async () => {
    h = await renderApp([fakeVm('web')], { rows: 36 });
    await h.press('n', 'db', TAB, TAB, 'fedora-41', '\r');
    await h.waitFor('pulling fedora-41 for db: its row shows how far it is');
    expect(h.frame()).not.toContain('New VM');
    await h.waitFor(/db\s+↓ pulling \d+% 11\.3 MB\/s ETA 0:\d\d · fedora-41/);
    expect(h.frame()).toContain('1 pulling');
    await h.waitFor('created db from fedora-41: s starts it', 3000);
    expect(h.frame()).toMatch(/db\s+○ stopped/);
    expect(h.frame()).not.toContain('↓ pull');
    const order = h.client.calls.filter((c) => c.method === 'pullImage' || c.method === 'create').map((c) => c.method);
    expect(order).toEqual(['pullImage', 'create']);
    expect(h.client.calls.find((c) => c.method === 'pullImage')!.args).toEqual(['fedora-41', { vm: 'db' }]);
    expect(h.store.getState().pulls.size).toBe(0);
  });

  test('a pull that fails at once fails in the form, beside the image field; nothing is created', async () => {
    h = await renderApp([fakeVm('web')], { rows: 36 });
    h.client.failures.set('pullImage', new BentoError('not-found', 'no image "fedora-14" in the catalog (bento images lists it)'));
    await h.press('n', 'db', TAB, TAB, 'fedora-14', '\r');
    await h.waitFor('✗ no image "fedora-14"');
    expect(row(h.frame(), 'image')).toMatch(/fedora-14\s+✗ no image "fedora-14" in the/);
    expect(h.frame()).toContain('New VM');
    expect(h.client.calls.filter((c) => c.method === 'create')).toHaveLength(0);
    expect(h.store.getState().pulls.size).toBe(0);
  });

  test('a create that fails after a long pull says so; n opens the form again with the values and the errors', async () => {
    h = await renderApp([fakeVm('web')], { rows: 36 });
    h.client.pullTickMs = 150;
    await h.press('n', 'db', TAB, TAB, 'ubuntu-24.04', TAB, TAB, TAB, TAB, TAB, '80', '\r');
    await h.waitFor('pulling ubuntu-24.04 for db');
    h.client.failures.set(
      'create',
      new BentoError('invalid-input', 'invalid VM definition', { fields: [{ field: 'publish[0]', message: 'must be [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp] (got "80")' }] }),
    );
    await h.waitFor('✗ db was not created (n reopens the form): publish[0] must be', 3000);
    expect(h.frame()).not.toContain('↓ pull');
    await h.press('n');
    await h.waitFor('New VM');
    expect(row(h.frame(), 'name')).toContain('db');
    expect(row(h.frame(), 'publish')).toMatch(/80\s+✗ must be/);
    // The image is cached now: fixing the entry creates the VM at once.
    await h.press('\x15', '8080:80', '\r');
    await h.waitFor('created db: s starts it');
    expect(h.client.calls.filter((c) => c.method === 'pullImage')).toHaveLength(1);
  });

  test('when the image list cannot be had, the picker says so and any image is still accepted', async () => {
    h = await renderApp([fakeVm('web')], { rows: 36 });
    h.client.failures.set('images', new BentoError('not-found', 'no such route'));
    await h.press('n', TAB, TAB);
    await h.waitFor('no image list (no such route)');
  });
});
