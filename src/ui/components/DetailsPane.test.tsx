import { afterEach, expect, test } from 'vitest';
import { fakeVm } from '../fake-client.js';
import { renderApp, type Harness } from '../test/render-app.js';

let h: Harness;
afterEach(() => h?.unmount());

test('the details pane lists each shared folder: source → target, type, read-only', async () => {
  const vm = fakeVm('web');
  vm.spec.mounts = [
    { source: '/home/u/src', target: '/mnt/src', readonly: false, tag: 'bento0', type: 'virtiofs' },
    { source: '/data', target: '/srv/data', readonly: true, tag: 'bento1', type: '9p' },
  ];
  h = await renderApp([vm], { cols: 160, rows: 40 });
  await h.waitFor('details · web');
  await h.waitFor('/home/u/src → /mnt/src (virtiofs)');
  expect(h.frame()).toMatch(/mount 1\s+\/data → \/srv\/data \(9p, ro\)/);
});
