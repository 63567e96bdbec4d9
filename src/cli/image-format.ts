// How `bento image` prints for people: the cache table, the catalog table, sizes and ages.
import type { CatalogView, ImageArch, ImageList, ImageView } from '../vm/images/types.js';
import { columns } from './format.js';

/** This host's architecture as image names spell it (the catalog's default). */
export function hostArch(): ImageArch {
  return process.arch === 'arm64' ? 'aarch64' : 'x86_64';
}

/** Bytes for people: 812 B, 64.0 KiB, 412 MiB, 1.2 GiB. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n} B`;
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[u]}`;
}

/** How long ago an ISO time was: just now, 5 min ago, 3 h ago, 2 days ago, then the date. */
export function formatAge(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 30 * 86400) return `${Math.floor(s / 86400)} days ago`;
  return iso.slice(0, 10);
}

/** A refs.json key as users type it: `debian-12` on this host's architecture, a path for file:// URLs. */
export function displayRef(key: string, arch: ImageArch = hostArch()): string {
  if (key.startsWith('file://')) return decodeURIComponent(new URL(key).pathname);
  if (/^[a-z]+:\/\//i.test(key)) return key;
  return key.endsWith(`:${arch}`) ? key.slice(0, -arch.length - 1) : key;
}

/** `sha256-<first 12 hex digits>…`, the short name of a cached image. */
export function shortSha(sha256: string): string {
  return `sha256-${sha256.slice(0, 12)}…`;
}

function refsCell(img: ImageView, arch: ImageArch): string {
  return img.refs.length ? img.refs.map((r) => displayRef(r, arch)).join(', ') : `(${displayRef(img.url, arch)})`;
}

/** `bento image ls`: the cached images, then the catalog ids not pulled yet on this architecture. */
export function formatImageTable(list: ImageList, now = Date.now(), arch: ImageArch = hostArch()): string {
  const lines: string[] = [];
  if (list.cached.length) {
    const rows = [['REF', 'SHA256', 'SIZE', 'FORMAT', 'PULLED', 'USED BY']];
    for (const img of list.cached) {
      rows.push([refsCell(img, arch), img.sha256.slice(0, 12), formatBytes(img.size), img.format, formatAge(img.pulledAt, now), img.usedBy.join(', ') || '-']);
    }
    lines.push(columns(rows));
  } else lines.push('no images pulled yet');
  const missing = [...new Set(list.catalog.filter((e) => e.arch === arch && !e.cached).map((e) => e.id))];
  if (missing.length) lines.push(`not pulled: ${missing.join(', ')} (bento image pull ID; bento image ls --catalog for details)`);
  return lines.join('\n');
}

/** `bento image ls --catalog`: every catalog entry, this host's architecture first. */
export function formatCatalogTable(catalog: CatalogView[], arch: ImageArch = hostArch()): string {
  const sorted = [...catalog].sort((a, b) => Number(b.arch === arch) - Number(a.arch === arch));
  const rows = [['ID', 'ARCH', 'OS', 'FIRMWARE', 'USER', 'CACHED', 'TITLE']];
  for (const e of sorted) rows.push([e.id, e.arch, e.os, e.firmware, e.defaultUser ?? '-', e.cached ? 'yes' : '-', `${e.title}${e.origin === 'user' ? ' (images.json)' : ''}`]);
  return columns(rows);
}
