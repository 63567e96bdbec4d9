/**
 * The image cache's part of the API as the TUI uses it: the fields it reads of the API's own shapes
 * (src/vm/images/types.ts, which the TUI may not import), so the real client satisfies them.
 */
import type { EventHandlers } from '../api/client.js';

/** A base image in bentod's cache. */
export interface ImageView {
  sha256: string;
  /** Bytes on disk. */
  size: number;
  format: string;
  /** What it was pulled as: catalog ids, URLs, paths. */
  refs: string[];
  /** The VMs whose disks sit on it. */
  usedBy: string[];
  /** ISO time it was pulled. */
  pulledAt: string;
}

/** An entry of the catalog of official cloud images. */
export interface CatalogView {
  id: string;
  title: string;
  /** The guest architecture (x86_64, aarch64, …). */
  arch: string;
  /** Whether its image is in the cache already. */
  cached: boolean;
}

/** GET of the image list: what is cached, and what the catalog offers. */
export interface ImageList {
  cached: ImageView[];
  catalog: CatalogView[];
}

/** How far a pull has come, pushed on the event stream while it runs. */
export interface ImageProgress {
  ref: string;
  id?: string | null;
  arch?: string;
  phase: 'checksum' | 'download' | 'verify' | 'done' | 'error';
  received: number;
  total: number | null;
  bytesPerSec: number;
  etaSeconds: number | null;
  /** The VM the pull is for, when the puller said so (`bento create --image`, the TUI's form). */
  vm?: string;
  error?: string;
}

/** Options of a pull. */
export interface PullOptions {
  force?: boolean;
  /** The VM the image is pulled for: progress events carry it, so every TUI can show the VM's row. */
  vm?: string;
}

/** The image cache's calls. */
export interface ImageApi {
  images(): Promise<ImageList>;
  /** Pulls an image into the cache; resolves once it is cached (at once when it already is). */
  pullImage(ref: string, opts?: PullOptions): Promise<unknown>;
}

/** Event handlers with the image cache's pull progress. */
export type UiEventHandlers = EventHandlers & {
  onImage?(p: ImageProgress): void;
};
