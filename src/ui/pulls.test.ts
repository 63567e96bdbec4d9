import { expect, test } from 'vitest';
import { fakeVm } from './fake-client.js';
import { formatBytes, formatEta, pendingPulls, pullLabel, pullTarget, startingPull, visiblePulls, type PullView } from './pulls.js';

const pull = (over: Partial<PullView> = {}): PullView => ({ ...startingPull('web', 'debian-12'), ...over });

test('a pull row says how far the pull is', () => {
  expect(pullLabel(pull())).toBe('pulling: fetching checksums · debian-12');
  expect(pullLabel(pull({ phase: 'download', received: 168_000_000, total: 400_000_000, bytesPerSec: 11_300_000, etaSeconds: 37 }))).toBe(
    'pulling 42% 11.3 MB/s ETA 0:37 · debian-12',
  );
  // No size announced: what came so far, and no ETA.
  expect(pullLabel(pull({ phase: 'download', received: 120_400_000, total: null, bytesPerSec: 0, etaSeconds: null }))).toBe('pulling 120 MB · debian-12');
  expect(pullLabel(pull({ phase: 'verify' }))).toBe('pulling: verifying · debian-12');
  expect(pullLabel(pull({ phase: 'done' }))).toBe('pulled: creating the VM · debian-12');
});

test('bytes and times read like a download tool shows them', () => {
  expect(formatBytes(512)).toBe('512 B');
  expect(formatBytes(11_300_000)).toBe('11.3 MB');
  expect(formatBytes(412_000_000)).toBe('412 MB');
  expect(formatBytes(1_234_000_000)).toBe('1.2 GB');
  expect(formatEta(37)).toBe('0:37');
  expect(formatEta(605)).toBe('10:05');
  expect(formatEta(3725)).toBe('1:02:05');
});

test('which VM an event is for; defined VMs take over their rows; the filter applies', () => {
  const vms = new Map([['a', fakeVm('a')]]);
  const ev = { ref: 'debian-12', phase: 'download' as const, received: 1, total: 2, bytesPerSec: 1, etaSeconds: 1 };
  expect(pullTarget({ ...ev, vm: 'web' }, new Map(), vms)).toBe('web');
  expect(pullTarget({ ...ev, vm: 'a' }, new Map(), vms)).toBeNull();
  expect(pullTarget(ev, new Map(), vms)).toBeNull();
  expect(pullTarget(ev, new Map([['mine', 'debian-12']]), vms)).toBe('mine');
  const pulls = new Map([
    ['web', pull()],
    ['a', pull({ name: 'a' })],
  ]);
  expect([...pendingPulls(pulls, vms).keys()]).toEqual(['web']);
  const none = new Map([['web', pull()]]);
  expect(pendingPulls(none, vms)).toBe(none);
  expect(visiblePulls(new Map([['zz', pull({ name: 'zz' })], ['web', pull()]]), '').map((p) => p.name)).toEqual(['web', 'zz']);
  expect(visiblePulls(new Map([['zz', pull({ name: 'zz' })], ['web', pull()]]), 'we').map((p) => p.name)).toEqual(['web']);
});
