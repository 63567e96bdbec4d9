import { expect, test } from 'vitest';
import { BentoError } from '../vm/errors.js';
import { fakeVm } from './fake-client.js';
import { BOOT_MODES, LIBVIRT_BOOT_MODES, createFields, createRequest, createValues, editFields, patchBody, placeErrors, publishList, switchBoot, switchHost, turnChoice } from './form-model.js';
import { focusedField, formFields, formReducer, initialForm, type FormAction } from './form-state.js';
import type { ImageChoice } from './image-choices.js';

test('the create request carries the fields of the chosen boot source only', () => {
  const v = { ...createValues(), boot: 'kernel', name: ' web ', kernel: '/k', initrd: '', cmdline: 'console=ttyS0', disk: '/ignored', memory: '1G', cpus: '2' };
  expect(createRequest(v)).toEqual({ name: 'web', kernel: '/k', cmdline: 'console=ttyS0', cpus: 2, memory: '1G' });
  expect(createRequest({ ...v, boot: 'disk', disk: '/d.qcow2' })).toEqual({ name: 'web', disk: '/d.qcow2', cpus: 2, memory: '1G' });
  expect(createRequest({ ...v, boot: 'iso', iso: '/i.iso', diskSize: '8G' })).toEqual({ name: 'web', iso: '/i.iso', cpus: 2, memory: '1G', diskSize: '8G' });
  // Text that is not a number goes as typed, so bentod names the problem.
  expect(createRequest({ ...v, cpus: 'two' }).cpus).toBe('two');
  expect(createFields('disk').map((f) => f.id)).toEqual(['name', 'boot', 'disk', 'cpus', 'memory']);
});

test('the patch body holds only what changed; a cleared path is null', () => {
  const vm = fakeVm('web', { cpus: 1, memoryMiB: 512 });
  const values = { ...createValues(), cpus: '1', memory: '512M', kernel: '/guest/vmlinuz', initrd: '', cmdline: 'console=ttyS0', iso: '' };
  expect(patchBody(vm, values)).toEqual({ initrd: null });
  expect(patchBody(vm, { ...values, initrd: '/guest/initrd.img', cpus: '2', memory: '1G' })).toEqual({ cpus: 2, memory: '1G' });
  expect(editFields().map((f) => f.id)).toEqual(['cpus', 'memory', 'kernel', 'initrd', 'cmdline', 'iso']);
});

test('API field errors land on their rows; the rest is listed', () => {
  const err = new BentoError('invalid-input', 'bad', {
    fields: [
      { field: 'name', message: 'must be letters' },
      { field: 'memory', message: 'must be from 64M' },
      { field: 'diskFormat', message: 'needs disk' },
      { field: 'backend', message: 'must be qemu or vz' },
    ],
  });
  const placed = placeErrors(err, createFields('disk'));
  expect(placed.byField).toEqual({ name: 'must be letters', memory: 'must be from 64M', disk: 'needs disk' });
  expect(placed.other).toEqual(['backend must be qemu or vz']);
  expect(placeErrors(new BentoError('internal', 'boom'), createFields('kernel')).other).toEqual(['boom']);
});

test('the form reducer edits, moves, cycles the boot source and submits', () => {
  let s = initialForm(null);
  const key = (input: string, k = {}) => (s = formReducer(s, { type: 'key', input, key: k }));
  key('web');
  expect(s.values.name).toBe('web');
  key('', { tab: true });
  key('', { rightArrow: true });
  key('', { rightArrow: true });
  expect(s.values.boot).toBe('disk');
  key('', { tab: true, shift: true });
  key('', { delete: true });
  expect(s.values.name).toBe('we');
  key('', { return: true });
  expect(s.busy).toBe(true);
  expect(s.submits).toBe(1);
  key('x');
  expect(s.values.name).toBe('we');
  s = formReducer(s, { type: 'failed', errors: { byField: { memory: 'too small' }, other: [] } });
  expect(s.busy).toBe(false);
  expect(createFields('disk')[s.focus]!.id).toBe('memory');
});

test('a new VM boots a cloud image by default: image first, with its own fields and defaults', () => {
  expect(BOOT_MODES[0]).toBe('image');
  const v = createValues();
  expect(v.boot).toBe('image');
  expect(v.network).toBe('nat');
  expect(v.memory).toBe('1G');
  const fields = createFields('image');
  expect(fields.map((f) => f.id)).toEqual(['name', 'boot', 'image', 'cpus', 'memory', 'diskSize', 'network', 'publish']);
  expect(fields.find((f) => f.id === 'diskSize')!.hint).toBe("grow the image's disk, like 20G");
  expect(fields.find((f) => f.id === 'memory')!.hint).toContain('1G');
  // The untouched memory default follows the boot source; a typed one stays.
  expect(switchBoot(v, 'kernel').memory).toBe('512M');
  expect(switchBoot(switchBoot(v, 'kernel'), 'image').memory).toBe('1G');
  expect(switchBoot({ ...v, memory: '4G' }, 'kernel').memory).toBe('4G');
});

test('the image request sends image, network and publish (split on commas, trimmed), and nothing of the other sources', () => {
  const v = { ...createValues(), name: 'web', image: ' debian-12 ', kernel: '/ignored', diskSize: '20G', network: 'restricted', publish: ' 8080:80 , ,127.0.0.1:2222:22/tcp,' };
  expect(createRequest(v)).toEqual({
    name: 'web',
    image: 'debian-12',
    cpus: 1,
    memory: '1G',
    diskSize: '20G',
    network: 'restricted',
    publish: ['8080:80', '127.0.0.1:2222:22/tcp'],
  });
  // No forwards: no publish at all.
  expect(createRequest({ ...v, publish: ' , ' })).not.toHaveProperty('publish');
  expect(publishList('a,b , c')).toEqual(['a', 'b', 'c']);
});

test("the API's field errors of an image VM land on their rows: publish[N] on publish, the boot complaint on image", () => {
  const err = new BentoError('invalid-input', 'invalid VM definition', {
    fields: [
      { field: 'image', message: 'no image "debain-12" in the catalog' },
      { field: 'publish[1]', message: 'must be [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp] (got "80")' },
      { field: 'publish', message: 'forwards host port 127.0.0.1:8080:80/tcp twice' },
      { field: 'network', message: 'must be nat, restricted or none' },
      { field: 'kernel', message: 'a VM needs something to boot: image, kernel, disk, diskSize or iso' },
      { field: 'user', message: 'must be a user name' },
    ],
  });
  const placed = placeErrors(err, createFields('image'));
  expect(placed.byField).toEqual({
    image: 'no image "debain-12" in the catalog; a VM needs something to boot: image, kernel, disk, diskSize or iso',
    publish: 'must be [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp] (got "80"); forwards host port 127.0.0.1:8080:80/tcp twice',
    network: 'must be nat, restricted or none',
  });
  expect(placed.other).toEqual(['user must be a user name']);
  // With a kernel row, the kernel complaint stays there.
  expect(placeErrors(err, createFields('kernel')).byField.kernel).toContain('needs something to boot');
});

test('network turns with ←/→ like the boot source', () => {
  let s = initialForm(null);
  const key = (input: string, k = {}) => (s = formReducer(s, { type: 'key', input, key: k }));
  while (focusedField(s) !== 'network') key('', { tab: true });
  key('', { rightArrow: true });
  expect(s.values.network).toBe('restricted');
  key('', { rightArrow: true });
  expect(s.values.network).toBe('none');
  key('', { rightArrow: true });
  expect(s.values.network).toBe('nat');
  key('', { leftArrow: true });
  expect(s.values.network).toBe('none');
  key('x');
  expect(s.values.network).toBe('none');
});

test('the image picker: ↓ highlights, typing filters, Enter takes the image, Tab takes it and moves on, Esc drops it', () => {
  const choices: ImageChoice[] = [
    { value: 'debian-12', note: 'pulled', pulled: true },
    { value: 'ubuntu-24.04', note: 'Ubuntu 24.04 LTS', pulled: false },
    { value: 'fedora-41', note: 'Fedora Cloud 41', pulled: false },
  ];
  let s = initialForm(null);
  const key = (input: string, k = {}) => (s = formReducer(s, { type: 'key', input, key: k, choices } as FormAction));
  key('', { tab: true });
  key('', { tab: true });
  expect(focusedField(s)).toBe('image');
  key('', { downArrow: true });
  key('', { downArrow: true });
  expect(s.pick).toBe(1);
  key('', { return: true });
  expect(s.values.image).toBe('ubuntu-24.04');
  expect(s.busy).toBe(false);
  expect(s.pick).toBe(-1);
  // Typing filters (and drops the highlight); the highlight counts within the matches.
  key('u', { ctrl: true });
  key('fed');
  key('', { downArrow: true });
  expect(s.pick).toBe(0);
  key('', { tab: true });
  expect(s.values.image).toBe('fedora-41');
  expect(focusedField(s)).toBe('cpus');
  // Back up: ↑ leaves the image field only when nothing is highlighted.
  key('', { upArrow: true });
  expect(focusedField(s)).toBe('image');
  key('', { downArrow: true });
  key('', { upArrow: true });
  expect(s.pick).toBe(-1);
  expect(focusedField(s)).toBe('image');
  key('', { downArrow: true });
  key('', { escape: true });
  expect(s.pick).toBe(-1);
  // With nothing highlighted, Enter sends the form with the text as typed.
  key('', { return: true });
  expect(s.busy).toBe(true);
});

test('a draft brings back the values and errors of a create that failed after its form closed', () => {
  const values = { ...createValues(), name: 'web', image: 'debian-12', publish: '8080' };
  const s = initialForm(null, { values, errors: { byField: { publish: 'must be …' }, other: [] } });
  expect(s.values).toEqual(values);
  expect(focusedField(s)).toBe('publish');
  expect(s.errors.byField.publish).toBe('must be …');
});

test('on a libvirt host the form has a host row, its own boot and network choices, and the request names HOST/NAME', () => {
  const v = { ...createValues(), name: 'web', image: 'debian-12', diskSize: '20G', network: 'restricted', publish: '8080:80' };
  expect(createFields('image', 'local').map((f) => f.id)).toEqual(['name', 'host', 'boot', 'image', 'cpus', 'memory', 'diskSize', 'network', 'publish']);
  const lab = switchHost(v, 'lab1');
  // A cloud image and a restricted network do not exist there: kernel boot, no network.
  expect(lab).toMatchObject({ host: 'lab1', boot: 'kernel', network: 'none', memory: '512M' });
  expect(createFields('kernel', 'lab1').map((f) => f.id)).toEqual(['name', 'host', 'boot', 'kernel', 'initrd', 'cmdline', 'cpus', 'memory', 'network']);
  expect(createFields('disk', 'lab1').find((f) => f.id === 'disk')!.hint).toBe('image path on that host');
  expect(createRequest({ ...lab, kernel: '/srv/vmlinuz' })).toEqual({ name: 'lab1/web', kernel: '/srv/vmlinuz', cpus: 1, memory: '512M', network: 'none' });
  // A name typed as HOST/NAME says its host itself.
  expect(createRequest({ ...lab, name: 'lab2/x', kernel: '/k' }).name).toBe('lab2/x');
  // ←/→ on the host row cycles the hosts; on boot and network only the choices the host offers.
  const hosts = ['local', 'lab1', 'lab2'];
  expect(turnChoice(v, 'host', 1, hosts).host).toBe('lab1');
  expect(turnChoice(v, 'host', -1, hosts).host).toBe('lab2');
  expect(turnChoice(lab, 'boot', -1, hosts).boot).toBe('iso');
  expect(turnChoice(turnChoice(lab, 'boot', 1, hosts), 'boot', 1, hosts).boot).toBe('iso');
  expect(turnChoice(lab, 'network', 1, hosts).network).toBe('nat');
  expect(turnChoice(turnChoice(lab, 'network', 1, hosts), 'network', 1, hosts).network).toBe('none');
  expect(LIBVIRT_BOOT_MODES).not.toContain('image');
  // Back on local, what was chosen stays (and local offers every choice again).
  expect(switchHost(lab, 'local')).toMatchObject({ host: 'local', boot: 'kernel', network: 'none' });
  expect(createRequest(switchHost(lab, 'local')).name).toBe('web');
});

test('the form follows the hosts: a removed host gives way to local, a single host drops the row', () => {
  let s = initialForm(null, null, ['local', 'lab1']);
  expect(focusedField(s)).toBe('name');
  s = formReducer(s, { type: 'key', input: '', key: { tab: true } });
  s = formReducer(s, { type: 'key', input: '', key: { rightArrow: true } });
  expect(s.values.host).toBe('lab1');
  s = formReducer(s, { type: 'hosts', hosts: ['local'] });
  expect(s.values.host).toBe('local');
  expect(formFields(s).map((f) => f.id)).not.toContain('host');
});
