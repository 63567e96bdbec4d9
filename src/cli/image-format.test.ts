import { describe, expect, it } from 'vitest';
import type { CatalogView, ImageView, PullProgress, PullResult } from '../vm/images/types.js';
import { displayRef, formatAge, formatBytes, formatImageTable } from './image-format.js';
import { PullRenderer, formatEta, pulledLine } from './pull-progress.js';

const SHA = '0123456789abcdef'.repeat(4);
const img = (over: Partial<ImageView> = {}): ImageView => ({
  sha256: SHA, size: 412 * 1024 * 1024, format: 'qcow2', virtualSize: 2 ** 31, url: 'https://x/d.qcow2', id: 'debian-12', arch: 'x86_64', title: 'Debian 12',
  os: 'debian', firmware: 'bios', defaultUser: 'debian', checksum: null, pulledAt: '2026-01-01T10:00:00Z', path: `/h/images/sha256-${SHA}`,
  refs: ['debian-12:x86_64'], usedBy: [], ...over,
});
const entry = (id: string, arch: 'x86_64' | 'aarch64', cached: boolean): CatalogView => ({
  id, arch, cached, title: id, url: 'https://x', format: 'qcow2', firmware: 'bios', defaultUser: null, os: 'linux', origin: 'builtin',
});
const progress = (over: Partial<PullProgress>): PullProgress => ({
  ref: 'debian-12', key: 'debian-12:x86_64', id: 'debian-12', arch: 'x86_64', phase: 'download', received: 0, total: 100 * 1024 * 1024, bytesPerSec: 0, etaSeconds: null, resumedFrom: 0, ...over,
});

describe('image formatting', () => {
  it('sizes, ages, ETAs and refs for people', () => {
    expect([formatBytes(812), formatBytes(65536), formatBytes(412 * 1024 * 1024), formatBytes(1.25 * 1024 ** 3)]).toEqual(['812 B', '64.0 KiB', '412 MiB', '1.3 GiB']);
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(['2026-01-01T11:59:30Z', '2026-01-01T11:55:00Z', '2026-01-01T09:00:00Z', '2025-12-29T12:00:00Z', '2025-06-01T00:00:00Z'].map((t) => formatAge(t, now))).toEqual([
      'just now', '5 min ago', '3 h ago', '3 days ago', '2025-06-01',
    ]);
    expect([formatEta(4.4), formatEta(65), formatEta(3720)]).toEqual(['4s', '1m05s', '1h02m']);
    expect(displayRef('debian-12:x86_64', 'x86_64')).toBe('debian-12');
    expect(displayRef('debian-12:aarch64', 'x86_64')).toBe('debian-12:aarch64');
    expect(displayRef('file:///srv/my%20disk.qcow2', 'x86_64')).toBe('/srv/my disk.qcow2');
  });

  it('the ls table: REF SHA256 SIZE FORMAT PULLED USED BY, then what the catalog has not pulled here', () => {
    const list = { cached: [img({ usedBy: ['web', 'db'] }), img({ sha256: 'f'.repeat(64), refs: [], id: null, url: 'file:///srv/x.img', size: 1024 })], catalog: [entry('debian-12', 'x86_64', true), entry('debian-13', 'x86_64', false), entry('debian-13', 'aarch64', false), entry('fedora-44', 'x86_64', false)] };
    expect(formatImageTable(list, Date.parse('2026-01-01T10:30:00Z'), 'x86_64').split('\n')).toEqual([
      'REF           SHA256        SIZE     FORMAT  PULLED      USED BY',
      'debian-12     0123456789ab  412 MiB  qcow2   30 min ago  web, db',
      '(/srv/x.img)  ffffffffffff  1.0 KiB  qcow2   30 min ago  -',
      'not pulled: debian-13, fedora-44 (bento image pull ID; bento image ls --catalog for details)',
    ]);
    expect(formatImageTable({ cached: [], catalog: [] })).toBe('no images pulled yet');
  });

  it('the final line of a pull', () => {
    const r: PullResult = { ...img(), alreadyCached: false };
    expect(pulledLine('debian-12', r, 12.34)).toBe('pulled debian-12 (sha256-0123456789ab…, 412 MiB) in 12.3 s');
    expect(pulledLine('debian-12', { ...r, alreadyCached: true }, 0)).toBe('debian-12 is already pulled (sha256-0123456789ab…, 412 MiB); --force pulls it again');
  });
});

describe('PullRenderer', () => {
  const MiB = 1024 * 1024;
  it('on a terminal redraws one line in place with bar, percent, bytes, rate and ETA, and erases it at the end', () => {
    const out: string[] = [];
    const r = new PullRenderer({ write: (t) => out.push(t), isTTY: true, columns: 100 }, 'debian-12');
    r.update(progress({ phase: 'checksum' }));
    r.update(progress({ received: 25 * MiB, bytesPerSec: 5 * MiB, etaSeconds: 15 }));
    r.update(progress({ received: 50 * MiB, bytesPerSec: 5 * MiB, etaSeconds: 10 }));
    r.update(progress({ phase: 'done', received: 100 * MiB }));
    expect(out).toEqual([
      '\rdebian-12  fetching the checksum file…\x1b[K',
      `\rdebian-12  [=======>${' '.repeat(22)}]   25%  25.0 MiB / 100 MiB  5.0 MiB/s  ETA 15s\x1b[K`,
      `\rdebian-12  [===============>${' '.repeat(14)}]   50%  50.0 MiB / 100 MiB  5.0 MiB/s  ETA 10s\x1b[K`,
      '\r\x1b[K',
    ]);
    // Never wider than the terminal (a wrapped line would break the redraw).
    const narrow: string[] = [];
    new PullRenderer({ write: (t) => narrow.push(t), isTTY: true, columns: 40 }, 'debian-12').update(progress({ received: MiB, bytesPerSec: MiB, etaSeconds: 99 }));
    expect(narrow[0]!.replace('\r', '').replace('\x1b[K', '').length).toBeLessThanOrEqual(39);
  });

  it('into a pipe prints a plain line every 10% or 5 s, the phases once', () => {
    const out: string[] = [];
    let now = 0;
    const r = new PullRenderer({ write: (t) => out.push(t), isTTY: false }, 'debian-12', () => now);
    r.update(progress({ phase: 'checksum' }));
    r.update(progress({ phase: 'checksum' }));
    for (let pct = 1; pct <= 25; pct++) {
      now += 100;
      r.update(progress({ received: pct * MiB, bytesPerSec: 10 * MiB, etaSeconds: (100 - pct) / 10, resumedFrom: 0 }));
    }
    now += 6_000;
    r.update(progress({ received: 26 * MiB, bytesPerSec: 10 * MiB, etaSeconds: 7.4 }));
    r.update(progress({ phase: 'verify', received: 100 * MiB }));
    expect(out).toEqual([
      'debian-12: fetching the checksum file\n',
      'debian-12: 1% (1.0 MiB of 100 MiB, 10.0 MiB/s, ETA 10s)\n',
      'debian-12: 10% (10.0 MiB of 100 MiB, 10.0 MiB/s, ETA 9s)\n',
      'debian-12: 20% (20.0 MiB of 100 MiB, 10.0 MiB/s, ETA 8s)\n',
      'debian-12: 26% (26.0 MiB of 100 MiB, 10.0 MiB/s, ETA 7s)\n',
      'debian-12: verifying\n',
    ]);
  });
});
