import { expect, test } from 'vitest';
import type { SshEndpoint, VmSpec } from '../vm/types.js';
import { fakeVm } from './fake-client.js';
import { forwardText, guestText, imageText, mountText, networkText, sshText } from './vm-details.js';
import { readiness } from './vm-view.js';

const ssh: SshEndpoint = {
  host: '127.0.0.1',
  port: 40022,
  user: 'me',
  identityFile: '/k',
  knownHostsFile: '/kh',
  hostKeyAlias: 'bento-web',
  hostKeysPinned: true,
};
const seeded = { cloudInit: { user: 'me', instanceId: 'i-1' } } as Partial<VmSpec> as VmSpec;

test('readiness shows only for a running VM with something to probe', () => {
  expect(readiness(fakeVm('a', { state: 'running', ready: true }))).toBe('ready');
  expect(readiness(fakeVm('a', { state: 'running', ready: false }))).toBe('booting');
  expect(readiness(fakeVm('a', { state: 'running', ready: null }))).toBeNull();
  // A stopping VM may still report its last readiness: the row shows the stop, not the guest.
  expect(readiness(fakeVm('a', { state: 'stopping', ready: true }))).toBeNull();
});

test('the details lines: image with a short digest, network, forwards, SSH, guest', () => {
  const spec = { image: { ref: 'debian-12', sha256: 'ab12cd34ef56'.repeat(5) + 'abcd', path: '/c/x', format: 'qcow2' } } as Partial<VmSpec> as VmSpec;
  expect(imageText(spec)).toBe('debian-12 (ab12cd34ef56)');
  expect(imageText(fakeVm('k').spec)).toBeNull();
  expect(networkText({ network: 'restricted' })).toBe('restricted (no outbound)');
  expect(forwardText({ hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80, protocol: 'tcp' })).toBe('8080:80/tcp');
  expect(forwardText({ hostIp: '0.0.0.0', hostPort: 5353, guestPort: 53, protocol: 'udp' })).toBe('0.0.0.0:5353:53/udp');
  expect(sshText({ ssh })).toBe('me@127.0.0.1:40022 · keys pinned');
  expect(sshText({ ssh: { ...ssh, user: null, hostKeysPinned: false } })).toBe('127.0.0.1:40022 · keys not pinned yet');
  expect(sshText({ ssh: null })).toBeNull();
  expect(guestText(fakeVm('a', { state: 'running', ready: true, spec: seeded }))).toBe('✓ ready (SSH answers, cloud-init finished)');
  expect(guestText(fakeVm('a', { state: 'running', ready: false, spec: seeded }))).toBe('◌ booting: waiting for SSH and cloud-init');
  expect(guestText(fakeVm('a', { state: 'running', ready: false }))).toBe('◌ booting: waiting for SSH');
  expect(guestText(fakeVm('a', { state: 'running', ready: false, ssh: { ...ssh, hostKeysPinned: false } }))).toBe('◌ booting: host keys not seen yet');
  expect(guestText(fakeVm('a', { state: 'running', ready: false, ssh, spec: seeded }))).toBe('◌ booting: waiting for SSH and cloud-init');
  expect(guestText(fakeVm('a'))).toBeNull();
});

test('a shared folder line: source, target, type and read-only', () => {
  expect(mountText({ source: '/home/u/src', target: '/mnt/src', readonly: false, tag: 'bento0', type: 'virtiofs' })).toBe('/home/u/src → /mnt/src (virtiofs)');
  expect(mountText({ source: '/data', target: '/srv/data', readonly: true, tag: 'bento1', type: '9p' })).toBe('/data → /srv/data (9p, ro)');
});
