import { expect, test } from 'vitest';
import { BentoError } from '../vm/errors.js';
import { fakeVm } from './fake-client.js';
import { createFields, createRequest, createValues, editFields, patchBody, placeErrors } from './form-model.js';
import { formReducer, initialForm } from './form-state.js';

test('the create request carries the fields of the chosen boot source only', () => {
  const v = { ...createValues(), name: ' web ', kernel: '/k', initrd: '', cmdline: 'console=ttyS0', disk: '/ignored', memory: '1G', cpus: '2' };
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
