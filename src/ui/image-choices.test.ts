import { expect, test } from 'vitest';
import { FAKE_CATALOG, fakeImage } from './fake-client.js';
import type { ImageList } from './image-api.js';
import { imageChoices, isLocalImage, matchChoices, needsPull, sameArch } from './image-choices.js';

const list = (cachedRefs: string[][] = [['debian-12']]): ImageList => {
  const cached = cachedRefs.map((refs) => fakeImage(refs[0]!, { refs, usedBy: refs[0] === 'debian-12' ? ['web', 'db'] : [] }));
  const ids = new Set(cachedRefs.flat());
  return { cached, catalog: FAKE_CATALOG.map((c) => ({ ...c, cached: ids.has(c.id) })) };
};

test('pulled images come first, marked, then the catalog for this host only, each once', () => {
  const choices = imageChoices(list([['debian-12'], ['https://example.org/my.qcow2']]), 'x64');
  expect(choices.map((c) => [c.value, c.pulled])).toEqual([
    ['debian-12', true],
    ['https://example.org/my.qcow2', true],
    ['ubuntu-24.04', false],
    ['fedora-41', false],
  ]);
  expect(choices[0]!.note).toBe('pulled · 400 MB · used by web, db');
  expect(choices[2]!.note).toBe('Ubuntu 24.04 LTS "noble" cloud image');
  // On an arm64 host: the aarch64 entries, alpine among them, and no fedora.
  expect(imageChoices(list([]), 'arm64').map((c) => c.value)).toEqual(['debian-12', 'ubuntu-24.04', 'alpine-3.20']);
  // A cached image listed by URL and id shows as its catalog id.
  expect(imageChoices(list([['https://cloud.debian.org/x.qcow2', 'debian-12']]), 'x64')[0]!.value).toBe('debian-12');
});

test('typing filters by id or title, case-insensitive', () => {
  const choices = imageChoices(list(), 'x64');
  expect(matchChoices(choices, 'UBU').map((c) => c.value)).toEqual(['ubuntu-24.04']);
  expect(matchChoices(choices, 'cloud').map((c) => c.value)).toEqual(['ubuntu-24.04', 'fedora-41']);
  expect(matchChoices(choices, '  ')).toBe(choices);
});

test('what is pulled before the create: not a cached image, not a local file; anything when the list is unknown', () => {
  expect(needsPull('debian-12', list(), 'x64')).toBe(false);
  expect(needsPull('ubuntu-24.04', list(), 'x64')).toBe(true);
  expect(needsPull('https://example.org/x.qcow2', list(), 'x64')).toBe(true);
  expect(needsPull('/srv/images/x.qcow2', list(), 'x64')).toBe(false);
  expect(needsPull('debian-12', null, 'x64')).toBe(true);
  expect(isLocalImage('./x.img')).toBe(true);
  expect(isLocalImage('~/x.img')).toBe(true);
  expect(isLocalImage('debian-12')).toBe(false);
  expect(sameArch('x64', 'x86_64')).toBe(true);
  expect(sameArch('arm64', 'aarch64')).toBe(true);
  expect(sameArch('x64', 'aarch64')).toBe(false);
});
