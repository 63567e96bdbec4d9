/**
 * The image picker of the new-VM form: pulled images first, then the catalog's images for this
 * host's architecture; typing filters. Anything else typed (a path, a URL) is taken as it is.
 */
import type { ImageList } from './image-api.js';
import { formatBytes } from './pulls.js';

/** One image the picker offers. */
export interface ImageChoice {
  /** What goes into the image field (and the request). */
  value: string;
  /** Shown beside it: a title, or the size and users of a pulled image. */
  note: string;
  pulled: boolean;
}

const ARCH: Record<string, string> = { x64: 'x86_64', x86_64: 'x86_64', amd64: 'x86_64', arm64: 'aarch64', aarch64: 'aarch64' };

/** Whether two architecture names mean the same (Node's x64/arm64, the catalog's x86_64/aarch64). */
export function sameArch(a: string, b: string): boolean {
  const norm = (s: string): string => ARCH[s.toLowerCase()] ?? s.toLowerCase();
  return norm(a) === norm(b);
}

/** Pulled images (as their catalog id when they have one), then the catalog's for `arch`. */
export function imageChoices(list: ImageList, arch: string): ImageChoice[] {
  const ids = new Set(list.catalog.map((c) => c.id));
  const out: ImageChoice[] = [];
  const seen = new Set<string>();
  const covered = new Set<string>();
  for (const img of list.cached) {
    const value = img.refs.find((r) => ids.has(r)) ?? img.refs[0];
    if (!value || seen.has(value)) continue;
    seen.add(value);
    for (const r of img.refs) covered.add(r);
    const users = img.usedBy.length ? ` · used by ${img.usedBy.join(', ')}` : '';
    out.push({ value, note: `pulled · ${formatBytes(img.size)}${users}`, pulled: true });
  }
  const catalog: ImageChoice[] = [];
  for (const c of list.catalog) {
    if (!sameArch(c.arch, arch) || covered.has(c.id) || seen.has(c.id)) continue;
    seen.add(c.id);
    // Cached by the catalog's account, though no cached image lists the id: pulled all the same.
    (c.cached ? out : catalog).push({ value: c.id, note: c.cached ? `${c.title} · pulled` : c.title, pulled: c.cached });
  }
  return [...out, ...catalog];
}

/** The choices matching what is typed (case-insensitive, in the value or the note); all for nothing typed. */
export function matchChoices(choices: readonly ImageChoice[], text: string): readonly ImageChoice[] {
  const t = text.trim().toLowerCase();
  if (!t) return choices;
  return choices.filter((c) => c.value.toLowerCase().includes(t) || c.note.toLowerCase().includes(t));
}

/** A file on this host rather than something to download: bentod reads it in when it creates the VM. */
export function isLocalImage(ref: string): boolean {
  return /^(\/|~|\.\.?\/)/.test(ref) || ref.startsWith('file:');
}

/**
 * Whether the TUI should pull `ref` before it creates the VM, so the VM's row can show the pull:
 * yes unless the list says it is cached, or it is a local file. Without a list (still loading, or
 * it failed), it pulls: a pull of a cached image returns at once.
 */
export function needsPull(ref: string, list: ImageList | null, arch: string): boolean {
  if (isLocalImage(ref)) return false;
  if (!list) return true;
  if (list.cached.some((i) => i.refs.includes(ref))) return false;
  return !list.catalog.some((c) => c.id === ref && c.cached && sameArch(c.arch, arch));
}
