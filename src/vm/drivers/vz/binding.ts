// The vz part of bento's native addon (native/src/vz/*.mm, built only on macOS into bento_vz.node):
// its raw interface, and the loader. Only src/vm/drivers/vz imports this file (see eslint.config.js).
// The fake in test/helpers/fake-vz.ts implements the same interface for tests on Linux.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findPackageRoot } from '../../../native/native.js';
import { BentoError, errorMessage } from '../../errors.js';
import type { VzConfig } from './config.js';

/** The binding version this code was written against; must match kVzBindingVersion in vz_addon.mm. */
export const VZ_BINDING_VERSION = '1';

/** What the running macOS can do, decided natively with @available. */
export interface VzFeatures {
  /** stopWithCompletionHandler: (macOS 12). */
  stop: boolean;
  /** Disk caching and synchronization modes (macOS 12). */
  diskCaching: boolean;
  /** virtiofs shared directories (macOS 12). */
  virtiofs: boolean;
  /** EFI boot loader with a variable store, generic platform with a machine identifier (macOS 13). */
  efi: boolean;
  /** USB mass storage devices, used for ISOs (macOS 13). */
  usbStorage: boolean;
  /** saveMachineStateToURL:/restoreMachineStateFromURL: (macOS 14, Apple silicon only). */
  saveRestore: boolean;
}

/** The host as the addon sees it. */
export interface VzHostInfo {
  /** macOS version, e.g. "14.4.1". */
  macos: string;
  macosMajor: number;
  arch: 'arm64' | 'x64';
  /** VZVirtualMachine.isSupported: false inside a VM without nested virtualisation, for one. */
  supported: boolean;
  /** Whether this process carries com.apple.security.virtualization (SecTask). */
  entitled: boolean;
  features: VzFeatures;
  limits: { minCpus: number; maxCpus: number; minMemoryBytes: number; maxMemoryBytes: number };
}

/** A state change or delegate call, delivered on the JS thread through a ThreadSafeFunction. */
export type VzNativeEvent =
  | { type: 'state'; state: number }
  | { type: 'guest-did-stop' }
  | { type: 'did-stop-with-error'; error: VzErrorInfo }
  | { type: 'network-disconnected'; error: VzErrorInfo };

/** What the addon puts on an Error it throws or rejects with (NSError/NSException details). */
export interface VzErrorInfo {
  message: string;
  /** unsupported (old macOS), config (bad configuration), state (wrong VM state), vz (an NSError), exception (an NSException). */
  kind?: 'unsupported' | 'config' | 'state' | 'vz' | 'exception' | 'io';
  domain?: string;
  nsCode?: number;
  failureReason?: string;
  exceptionName?: string;
}

/** What VZVirtualMachine can do right now, read on its queue. */
export interface VzStatus {
  state: number;
  canStart: boolean;
  canPause: boolean;
  canResume: boolean;
  canRequestStop: boolean;
  canStop: boolean;
}

/** One VZVirtualMachine and its serial queue; every promise settles on the JS thread. */
export interface VzMachine {
  /** Read end of the pipe the guest console writes to; the caller owns and closes it. */
  readonly consoleReadFd: number;
  /** Write end of the pipe the guest console reads from; the caller owns and closes it. */
  readonly consoleWriteFd: number;
  start(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Asks the guest to power off; resolves once asked. */
  requestStop(): Promise<void>;
  /** Destructive stop (macOS 12+). */
  stop(): Promise<void>;
  /** Saves a paused VM's state (macOS 14+, Apple silicon). */
  save(file: string): Promise<void>;
  /** Restores a stopped VM from a saved state; it ends paused (macOS 14+, Apple silicon). */
  restore(file: string): Promise<void>;
  status(): Promise<VzStatus>;
  /** Unregisters KVO and the delegate and releases the ThreadSafeFunction; no event follows. */
  dispose(): void;
}

/** The raw vz addon as native/src/vz/vz_addon.mm exports it. */
export interface VzBinding {
  readonly version: string;
  info(): VzHostInfo;
  /** Builds and validates the configuration and creates the VM (stopped); throws on any invalid part. */
  createMachine(config: VzConfig, onEvent: (ev: VzNativeEvent) => void): VzMachine;
}

/** Set (with BENTO_VZ_TEST=1, and only in a source checkout) to load a JS fake instead of the addon. */
export const VZ_FAKE_ENV = 'BENTO_VZ_FAKE_BINDING';
const ADDON_FILE = 'bento_vz.node';
const BUILD_DIRS = ['build/Release', 'build/Debug'];

/** Every path the loader tries for bento_vz.node, Release first. */
export function vzCandidatePaths(): string[] {
  const root = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
  return root === undefined ? [] : BUILD_DIRS.map((d) => path.join(root, 'native', d, ADDON_FILE));
}

/** Loads the first candidate that exists and matches VZ_BINDING_VERSION; 'unsupported' naming every try. */
export function loadVzBindingFrom(candidates: readonly string[]): VzBinding {
  const req = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const file of candidates) {
    if (!fs.existsSync(file)) {
      tried.push(`${file} (missing)`);
      continue;
    }
    try {
      const b = req(file) as Partial<VzBinding>;
      if (typeof b.createMachine !== 'function' || typeof b.info !== 'function') tried.push(`${file} (not the vz addon)`);
      else if (b.version === VZ_BINDING_VERSION) return b as VzBinding;
      else tried.push(`${file} (stale build: version ${String(b.version)}, need ${VZ_BINDING_VERSION})`);
    } catch (err) {
      tried.push(`${file} (failed to load: ${errorMessage(err)})`);
    }
  }
  // The first line stands alone: bentod shows it as the reason vz is unavailable.
  throw new BentoError(
    'unsupported',
    `the vz addon (${ADDON_FILE}) is not available (${tried[0] ?? "no bento package root found"}); ` +
      'it is built on macOS by `npm rebuild bento`, which needs the Xcode command line tools' +
      (tried.length > 1 ? `\ntried:\n  ${tried.join('\n  ')}` : ''),
  );
}

let cached: VzBinding | undefined;
/** The real vz addon, loaded once (only success is cached). */
export function loadVzBinding(): VzBinding {
  cached ??= loadVzBindingFrom(vzCandidatePaths());
  return cached;
}

/**
 * The binding the helper process uses: the real addon, or a test fake. The fake is honoured only when
 * this module runs from its TypeScript source (never from dist/vz-helper.js, the shipped helper) and
 * BENTO_VZ_TEST=1; and anyone who can set this process's environment could already inject code with
 * NODE_OPTIONS, so the switch grants nothing new.
 */
export async function loadHelperBinding(env: NodeJS.ProcessEnv = process.env): Promise<VzBinding> {
  const fake = env[VZ_FAKE_ENV];
  if (!fake) return loadVzBinding();
  if (!import.meta.url.endsWith('.ts') || env.BENTO_VZ_TEST !== '1') {
    throw new BentoError('unsupported', `${VZ_FAKE_ENV} is only honoured by tests in a source checkout (with BENTO_VZ_TEST=1)`);
  }
  const mod = (await import(pathToFileURL(path.resolve(fake)).href)) as { fakeVzBinding?: () => VzBinding };
  if (typeof mod.fakeVzBinding !== 'function') throw new BentoError('internal', `${fake} does not export fakeVzBinding()`);
  return mod.fakeVzBinding();
}
