// Shapes of the image catalog and cache, shared by the engine, bentod's routes and the API client.

/** CPU architectures bento has images for (the names the publishers use in their file names vary). */
export type ImageArch = 'x86_64' | 'aarch64';

/** Every ImageArch, in catalog order. */
export const IMAGE_ARCHES: readonly ImageArch[] = ['x86_64', 'aarch64'];

/** How a base image's bytes are laid out; detected from the file, never trusted from a name. */
export type ImageFormat = 'qcow2' | 'raw';

/** The firmware an image boots with: aarch64 images always boot with UEFI, x86 cloud images with BIOS. */
export type ImageFirmware = 'bios' | 'uefi';

/** The distribution family of an image (cloud-init quirks differ per family); `linux` when unknown. */
export type OsFamily = 'debian' | 'ubuntu' | 'fedora' | 'alpine' | 'linux';

/** Checksum algorithms bento verifies. */
export type ChecksumAlgo = 'sha256' | 'sha512';

/** One expected checksum. */
export interface Checksum {
  algo: ChecksumAlgo;
  /** Lowercase hex. */
  hex: string;
}

/** One image of the catalog, for one architecture. */
export interface CatalogEntry {
  /** The catalog id users type: `debian-12`. */
  id: string;
  title: string;
  arch: ImageArch;
  /** http(s) or file:// URL of the image (absolute local paths are turned into file:// URLs). */
  url: string;
  /** URL of the publisher's checksum file beside the image (SHA512SUMS, SHA256SUMS, *-CHECKSUM, *.sha512). */
  checksumUrl?: string;
  /** An inline checksum, `sha256:<hex>` or `sha512:<hex>`, instead of a checksum file. */
  checksum?: string;
  /** The format the publisher ships (informational: the cache detects the real one). */
  format: ImageFormat;
  firmware: ImageFirmware;
  /** The login cloud-init sets up by default (informational). */
  defaultUser: string | null;
  os: OsFamily;
  /** Where the entry comes from: built into bento, or $BENTO_HOME/images.json. */
  origin: 'builtin' | 'user';
}

/** What a reference (catalog id, path or URL) resolves to before anything is downloaded. */
export interface ResolvedImage {
  /** The reference as given. */
  ref: string;
  /**
   * The key refs.json records this reference under: `<id>:<arch>` for catalog entries, the URL
   * (without its fragment) for ad-hoc URLs and paths.
   */
  key: string;
  /** The catalog entry, or an ad-hoc one (`id` null) for a URL or path. */
  entry: Omit<CatalogEntry, 'id' | 'origin'> & { id: string | null; origin: 'builtin' | 'user' | 'adhoc' };
  /** Where the bytes come from: `file` for local paths and file:// URLs. */
  source: { kind: 'http'; url: string } | { kind: 'file'; path: string };
}

/** The metadata kept beside a cached image (`sha256-<hex>.json`). */
export interface ImageMeta {
  sha256: string;
  /** Size of the file in bytes. */
  size: number;
  format: ImageFormat;
  /** The disk size the guest sees (qcow2 header; the file size for raw), or null when unknown. */
  virtualSize: number | null;
  /** Where the bytes came from (http(s) or file:// URL). */
  url: string;
  /** Catalog id and architecture, or null id for an ad-hoc URL or path. */
  id: string | null;
  arch: ImageArch;
  title: string | null;
  os: OsFamily;
  firmware: ImageFirmware;
  defaultUser: string | null;
  /** The publisher's checksum that was verified (`url` null when it was given inline), or null when none was given. */
  checksum: (Checksum & { url: string | null }) | null;
  /** ISO time the image entered the cache. */
  pulledAt: string;
}

/** A cached image: its metadata, its file and the references that name it. */
export interface CachedImage extends ImageMeta {
  /** Absolute path of the read-only image file (`$BENTO_HOME/images/sha256-<hex>`). */
  path: string;
  /** Keys of refs.json pointing at it (`debian-12:x86_64`, a URL …). */
  refs: string[];
}

/** Phases of a pull, in order; `error` ends a failed one. */
export type PullPhase = 'checksum' | 'download' | 'verify' | 'done' | 'error';

/** Progress of one pull, at most ~4 per second plus the final one. */
export interface PullProgress {
  /** The reference as the caller gave it. */
  ref: string;
  /** The refs.json key it resolved to. */
  key: string;
  id: string | null;
  arch: ImageArch;
  phase: PullPhase;
  /** Bytes of the image on disk so far (including resumed ones). */
  received: number;
  total: number | null;
  /** Recent download rate (bytes per second). */
  bytesPerSec: number;
  etaSeconds: number | null;
  /** Bytes already there from an interrupted download, 0 for a fresh one. */
  resumedFrom: number;
  /** The VM the pull is for, when its caller said (create --image, the TUI's form). */
  vm?: string;
  /** With `done`: the image's sha256. */
  sha256?: string;
  /** With `done`: true when it was already cached and nothing was downloaded. */
  cached?: boolean;
  /** With `error`: the message. */
  error?: string;
}

/** A cached image as GET /api/images lists it. */
export interface ImageView extends CachedImage {
  /** Names of the VMs whose disks are based on it. */
  usedBy: string[];
}

/** A catalog entry as GET /api/images lists it. */
export interface CatalogView extends CatalogEntry {
  /** True when this id and arch has been pulled. */
  cached: boolean;
}

/** GET /api/images. */
export interface ImageList {
  cached: ImageView[];
  catalog: CatalogView[];
}

/** Body of POST /api/images/pull. */
export interface PullRequest {
  image: string;
  force?: boolean;
}

/** The answer of POST /api/images/pull: the image, and whether it was in the cache already. */
export interface PullResult extends ImageView {
  /** True when the reference was cached and nothing was fetched. */
  alreadyCached: boolean;
}
