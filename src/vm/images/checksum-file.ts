// Parsers for the checksum files publishers put beside their images: GNU coreutils (`hex  name`,
// `hex *name`: Debian SHA512SUMS, Ubuntu SHA256SUMS), BSD (`SHA256 (name) = hex`: Fedora's
// *-CHECKSUM, inside a PGP clear-signed wrapper), and a lone hex digest (Alpine's per-file .sha512).
import path from 'node:path';
import type { Checksum, ChecksumAlgo } from './types.js';

/** Hex digits each algorithm's digest has. */
export const HEX_LENGTH: Record<ChecksumAlgo, number> = { sha256: 64, sha512: 128 };

/** The algorithm whose digest is this long in hex, or null. */
export function algoForHex(hex: string): ChecksumAlgo | null {
  if (!/^[0-9a-fA-F]+$/.test(hex)) return null;
  if (hex.length === HEX_LENGTH.sha256) return 'sha256';
  if (hex.length === HEX_LENGTH.sha512) return 'sha512';
  return null;
}

/** Parses an inline `sha256:<hex>` / `sha512:<hex>`; null when it is not one. */
export function parseInlineChecksum(text: string): Checksum | null {
  const m = /^(sha256|sha512):([0-9a-fA-F]+)$/.exec(text.trim());
  if (!m) return null;
  const algo = m[1] as ChecksumAlgo;
  return algoForHex(m[2]!) === algo ? { algo, hex: m[2]!.toLowerCase() } : null;
}

/** What a checksum file lists: digests by file name, or one digest for the file it sits beside. */
export interface ChecksumListing {
  byName: Map<string, Checksum[]>;
  /** A file holding only a digest (no name): it applies to the image it was published with. */
  single: Checksum | null;
}

const BSD_LINE = /^(SHA-?256|SHA-?512|SHA2-256|SHA2-512)\s*\((.*)\)\s*=\s*([0-9a-fA-F]+)$/i;
const GNU_LINE = /^(\\?)([0-9a-fA-F]{64}|[0-9a-fA-F]{128})\s+\*?(.+)$/;

/** The lines of a clear-signed PGP message's signed text (armor headers, signature and dash-escapes removed). */
function unwrapPgp(lines: string[]): string[] {
  const out: string[] = [];
  let inHeader = false;
  let inSignature = false;
  for (const line of lines) {
    if (line.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')) {
      inHeader = true;
      continue;
    }
    if (inHeader) {
      // Armor headers (`Hash: SHA256`) run until the first blank line.
      if (line.trim() === '') inHeader = false;
      continue;
    }
    if (line.startsWith('-----BEGIN PGP SIGNATURE-----')) inSignature = true;
    if (inSignature) {
      if (line.startsWith('-----END PGP SIGNATURE-----')) inSignature = false;
      continue;
    }
    out.push(line.startsWith('- ') ? line.slice(2) : line);
  }
  return out;
}

/** GNU tools escape names holding a backslash or newline and mark the line with a leading backslash. */
function unescapeGnu(name: string): string {
  return name.replace(/\\(\\|n)/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Parses a checksum file in any of the formats above; lines it does not understand are ignored. */
export function parseChecksumFile(text: string): ChecksumListing {
  const lines = unwrapPgp(text.replace(/^\uFEFF/, '').split(/\r?\n/)).map((l) => l.trim());
  const byName = new Map<string, Checksum[]>();
  const add = (name: string, sum: Checksum): void => {
    const clean = name.replace(/^\.\//, '');
    byName.set(clean, [...(byName.get(clean) ?? []), sum]);
  };
  const meaningful = lines.filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of meaningful) {
    const bsd = BSD_LINE.exec(line);
    if (bsd) {
      const algo: ChecksumAlgo = /512/.test(bsd[1]!) ? 'sha512' : 'sha256';
      if (algoForHex(bsd[3]!) === algo) add(bsd[2]!, { algo, hex: bsd[3]!.toLowerCase() });
      continue;
    }
    const gnu = GNU_LINE.exec(line);
    if (gnu) {
      const name = gnu[1] ? unescapeGnu(gnu[3]!) : gnu[3]!;
      add(name, { algo: algoForHex(gnu[2]!)!, hex: gnu[2]!.toLowerCase() });
    }
  }
  let single: Checksum | null = null;
  if (byName.size === 0 && meaningful.length === 1) {
    const algo = algoForHex(meaningful[0]!);
    if (algo) single = { algo, hex: meaningful[0]!.toLowerCase() };
  }
  return { byName, single };
}

/**
 * The checksum a file lists for the image `fileName`: an exact name first, then a same basename
 * (some files list `./name` or `subdir/name`). Where both sha256 and sha512 are listed, sha256 wins:
 * the cache computes it anyway, so the bytes are hashed once.
 */
export function findChecksum(listing: ChecksumListing, fileName: string): Checksum | null {
  const pick = (sums: Checksum[] | undefined): Checksum | null => (sums ? (sums.find((s) => s.algo === 'sha256') ?? sums[0] ?? null) : null);
  const exact = pick(listing.byName.get(fileName));
  if (exact) return exact;
  for (const [name, sums] of listing.byName) if (path.posix.basename(name) === fileName) return pick(sums);
  return listing.single;
}
