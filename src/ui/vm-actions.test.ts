import { describe, expect, test } from 'vitest';
import type { SshEndpoint, VmSpec } from '../vm/types.js';
import { fakeVm } from './fake-client.js';
import { refusal } from './vm-actions.js';

const endpoint = (over: Partial<SshEndpoint> = {}): SshEndpoint => ({
  host: '127.0.0.1',
  port: 2222,
  user: 'me',
  identityFile: '/home/me/.local/share/bento/ssh/id_ed25519',
  knownHostsFile: '/home/me/.local/share/bento/vms/web/known_hosts',
  hostKeyAlias: 'bento-web',
  hostKeysPinned: true,
  ...over,
});
const running = { state: 'running' as const, pid: 1, startedAt: '2024-01-01T00:00:00Z' };

describe('refusal(ssh)', () => {
  test('a running VM with its host keys pinned can be reached', () => {
    expect(refusal('ssh', fakeVm('web', { ...running, ssh: endpoint(), ready: true }))).toBeNull();
    // Pinned keys are enough: the guest may still be finishing cloud-init.
    expect(refusal('ssh', fakeVm('web', { ...running, ssh: endpoint(), ready: false }))).toBeNull();
  });

  test('it must run', () => {
    expect(refusal('ssh', fakeVm('web'))).toBe('web is not running: s starts it (bento start web --wait)');
    expect(refusal('ssh', fakeVm('web', { state: 'error' }))).toBe('web is not running: s starts it (bento start web --wait)');
    expect(refusal('ssh', fakeVm('web', { ...running, state: 'paused', ssh: endpoint() }))).toBe('web is paused: p resumes it (bento resume web)');
    expect(refusal('ssh', fakeVm('web', { ...running, state: 'starting' }))).toBe('web is starting: wait until it runs');
  });

  test('it needs an SSH port: network none has none', () => {
    const none = fakeVm('web', { ...running, ssh: null, spec: { network: 'none' } as VmSpec });
    expect(refusal('ssh', none)).toBe('web has no network (network none): it cannot be reached over SSH');
    expect(refusal('ssh', fakeVm('web', { ...running, ssh: null }))).toBe('web has no SSH port (network nat)');
  });

  test('its host keys must be pinned first', () => {
    expect(refusal('ssh', fakeVm('web', { ...running, ssh: endpoint({ hostKeysPinned: false }), ready: false }))).toMatch(/^web is still booting: its SSH host keys are not known yet/);
  });
});

test('attach fits any VM that is not stopped; delete and console always fit', () => {
  expect(refusal('attach', fakeVm('web', running))).toBeNull();
  expect(refusal('attach', fakeVm('web'))).toBe('web is not running: s starts it (bento start web)');
  expect(refusal('delete', fakeVm('web', running))).toBeNull();
  expect(refusal('console', fakeVm('web'))).toBeNull();
});

describe('refusal(snapshot)', () => {
  test('vz VMs take snapshots like QEMU ones (bentod refuses what the Mac cannot do, saying why)', () => {
    expect(refusal('snapshot', fakeVm('mac', { ...running, backend: 'vz' }))).toBeNull();
    expect(refusal('snapshots', fakeVm('mac', { backend: 'vz' }))).toBeNull();
    expect(refusal('snapshot', fakeVm('mac', { ...running, backend: 'vz', state: 'saving' }))).toBe('mac is saving: snapshots wait until it is running, paused or stopped');
  });
});
