// The cache's bookkeeping on disk: `sha256-<hex>.json` metadata beside each image and refs.json
// (`<id>:<arch>` or URL -> sha256). Every write is atomic (temp file, fsync, rename); every read is
// checked, and a file that fails the check is treated as absent rather than trusted.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileSync } from 'atomically';
import { z } from 'zod';
import { errorMessage } from '../errors.js';
import { IMAGE_FILES } from '../paths.js';
import type { ImageMeta } from './types.js';

/** refs.json's schemaVersion. */
export const REFS_SCHEMA_VERSION = 1;

const SHA = /^[0-9a-f]{64}$/;

/** A cached image's file name. */
export function imageFileName(sha256: string): string {
  return `sha256-${sha256}`;
}

const metaSchema = z.object({
  sha256: z.string().regex(SHA),
  size: z.number().int().min(0),
  format: z.enum(['qcow2', 'raw']),
  virtualSize: z.number().int().min(0).nullable(),
  url: z.string(),
  id: z.string().nullable(),
  arch: z.enum(['x86_64', 'aarch64']),
  title: z.string().nullable(),
  os: z.enum(['debian', 'ubuntu', 'fedora', 'alpine', 'linux']),
  firmware: z.enum(['bios', 'uefi']),
  defaultUser: z.string().nullable(),
  checksum: z.object({ algo: z.enum(['sha256', 'sha512']), hex: z.string(), url: z.string().nullable() }).nullable(),
  pulledAt: z.string(),
});

const refsSchema = z.object({ schemaVersion: z.number().int(), refs: z.record(z.string(), z.string().regex(SHA)) });

/** Reads and writes the cache's metadata and refs in one images folder. */
export class IndexStore {
  constructor(
    readonly dir: string,
    private readonly log: (line: string) => void,
  ) {}

  /** The image file of a sha256. */
  imagePath(sha256: string): string {
    return path.join(this.dir, imageFileName(sha256));
  }

  /** The metadata file of a sha256. */
  metaPath(sha256: string): string {
    return `${this.imagePath(sha256)}.json`;
  }

  /** The sha256 of every image file present (metadata or not). */
  shas(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return [];
    }
    return names.map((n) => /^sha256-([0-9a-f]{64})$/.exec(n)?.[1]).filter((s): s is string => s !== undefined);
  }

  /** An image's metadata, or null when the image or its metadata is missing or unreadable. */
  readMeta(sha256: string): ImageMeta | null {
    if (!fs.existsSync(this.imagePath(sha256))) return null;
    let text: string;
    try {
      text = fs.readFileSync(this.metaPath(sha256), 'utf8');
    } catch {
      return null;
    }
    try {
      const r = metaSchema.safeParse(JSON.parse(text));
      if (r.success && r.data.sha256 === sha256) return r.data;
      this.log(`images: ignoring ${this.metaPath(sha256)}: ${r.success ? 'names another sha256' : r.error.issues[0]?.message}`);
    } catch (err) {
      this.log(`images: ignoring ${this.metaPath(sha256)}: ${errorMessage(err)}`);
    }
    return null;
  }

  /** Writes an image's metadata (atomically). */
  writeMeta(meta: ImageMeta): void {
    writeFileSync(this.metaPath(meta.sha256), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
  }

  /** refs.json's map; empty when absent or unreadable (a bad file is logged, not trusted). */
  readRefs(): Record<string, string> {
    const file = path.join(this.dir, IMAGE_FILES.refs);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return {};
    }
    try {
      const r = refsSchema.safeParse(JSON.parse(text));
      if (r.success) return r.data.refs;
      this.log(`images: ignoring ${file}: ${r.error.issues[0]?.message}`);
    } catch (err) {
      this.log(`images: ignoring ${file}: ${errorMessage(err)}`);
    }
    return {};
  }

  /** Replaces refs.json (atomically), keys sorted so the file diffs well. */
  writeRefs(refs: Record<string, string>): void {
    const sorted = Object.fromEntries(Object.entries(refs).sort(([a], [b]) => a.localeCompare(b)));
    writeFileSync(path.join(this.dir, IMAGE_FILES.refs), `${JSON.stringify({ schemaVersion: REFS_SCHEMA_VERSION, refs: sorted }, null, 2)}\n`, { mode: 0o600 });
  }
}
