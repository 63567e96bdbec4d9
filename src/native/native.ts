// Loads bento's native addon (native/, built by node-gyp at install) and wraps its raw functions in
// checked, typed ones. The addon is found from the package root, not from this file, because this
// code runs both from src/ (vitest, tsx) and bundled into dist/*.js by esbuild.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BentoError, errorMessage } from '../vm/errors.js';

/** Who is on the other end of a Unix-domain socket; pid is null where the OS does not say (BSD). */
export interface PeerCredentials {
  uid: number;
  gid: number;
  pid: number | null;
}

/** The raw addon as native/src/addon.cc exports it; call the checked wrappers below instead. */
export interface NativeBinding {
  /** Version of the exported surface, compared with BINDING_VERSION to catch stale builds. */
  readonly version: string;
  /** Throws TypeError on a bad fd, or an Error whose `code` is the errno name (EBADF, ENOTSOCK…). */
  getPeerCredentials(fd: number): PeerCredentials;
  /** The terminal modes of `fd`; throws ENOTTY for a non-terminal, EBADF for a closed fd. */
  tcgetattr(fd: number): TermiosSnapshot;
  /** Sets the modes saved in `snapshot` (its `raw` bytes); `when` is one of the TCSA* constants. */
  tcsetattr(fd: number, snapshot: TermiosSnapshot, when: number): void;
  /** Applies cfmakeraw's flag set (TCSADRAIN) and returns the modes from before. */
  makeRaw(fd: number): TermiosSnapshot;
  /** TCSA*, the flag bits makeRaw touches, NCCS and SIZEOF_TERMIOS, as this platform defines them. */
  readonly termiosConstants: Readonly<Record<TermiosConstant, number>>;
  /** flock(2); true when done, false when LOCK_NB met a conflicting lock; other failures throw. */
  flock(fd: number, op: number): boolean;
  /** LOCK_SH, LOCK_EX, LOCK_UN, LOCK_NB as this platform defines them. */
  readonly flockConstants: Readonly<Record<'LOCK_SH' | 'LOCK_EX' | 'LOCK_UN' | 'LOCK_NB', number>>;
}

/** A terminal's modes: `raw` is the platform's struct termios byte for byte; the rest is for reading. */
export interface TermiosSnapshot {
  raw: Buffer;
  iflag: number;
  oflag: number;
  cflag: number;
  lflag: number;
  cc: number[];
  ispeed: number;
  ospeed: number;
}

/** Names in the addon's termiosConstants. */
export type TermiosConstant =
  | 'TCSANOW' | 'TCSADRAIN' | 'TCSAFLUSH'
  | 'IGNBRK' | 'BRKINT' | 'PARMRK' | 'ISTRIP' | 'INLCR' | 'IGNCR' | 'ICRNL' | 'IXON'
  | 'OPOST' | 'ONLCR'
  | 'ECHO' | 'ECHONL' | 'ICANON' | 'ISIG' | 'IEXTEN'
  | 'CSIZE' | 'CS8' | 'PARENB'
  | 'VMIN' | 'VTIME' | 'NCCS' | 'SIZEOF_TERMIOS';

/** The binding version this code was written against; must match kBindingVersion in addon.cc. */
export const BINDING_VERSION = '3';

/** Environment variable that points the loader at one specific .node file. */
export const NATIVE_PATH_ENV = 'BENTO_NATIVE_PATH';

const PACKAGE_NAME = 'bento';
const BUILD_DIRS = ['build/Release', 'build/Debug'];
const ADDON_FILE = 'bento_native.node';

/** The nearest folder at or above `start` holding bento's package.json, or undefined. */
export function findPackageRoot(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    try {
      const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown };
      if (pkg.name === PACKAGE_NAME) return dir;
    } catch {
      // no manifest here, or not JSON: keep climbing
    }
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Every path the loader tries, in order: the env override alone, else Release then Debug builds. */
export function nativeCandidatePaths(env: NodeJS.ProcessEnv = process.env): string[] {
  // An explicit override is used alone: silently falling back to another build would hide the mistake.
  const override = env[NATIVE_PATH_ENV];
  if (override) return [path.resolve(override)];
  const here = path.dirname(fileURLToPath(import.meta.url));
  const root = findPackageRoot(here);
  if (root === undefined) return [];
  return BUILD_DIRS.map((dir) => path.join(root, 'native', dir, ADDON_FILE));
}

/** Loads the first candidate that exists and loads cleanly; throws 'unsupported' naming every try. */
export function loadNativeFrom(candidates: readonly string[]): NativeBinding {
  const requireAddon = createRequire(import.meta.url);
  const tried: string[] = [];
  let lastError: unknown;
  for (const file of candidates) {
    if (!fs.existsSync(file)) {
      tried.push(`${file} (missing)`);
      continue;
    }
    try {
      const binding = requireAddon(file) as NativeBinding;
      if (binding.version !== BINDING_VERSION) {
        // A leftover build from an older checkout: its functions would not match the types above.
        tried.push(`${file} (stale build: version ${String(binding.version)}, need ${BINDING_VERSION})`);
        continue;
      }
      return binding;
    } catch (err) {
      // Wrong ABI or architecture, or a broken file: report it, and try the next build.
      lastError = err;
      tried.push(`${file} (failed to load: ${errorMessage(err)})`);
    }
  }
  const where =
    tried.length > 0
      ? `tried:\n  ${tried.join('\n  ')}`
      : `could not find bento's package.json above ${path.dirname(fileURLToPath(import.meta.url))}`;
  throw new BentoError(
    'unsupported',
    `bento's native addon (${ADDON_FILE}) is not available; ${where}\n` +
      'Build it with `npm rebuild bento`, or `node scripts/build-native.mjs` in a checkout ' +
      `(needs a C++ toolchain, make and python3), or set ${NATIVE_PATH_ENV} to a built ${ADDON_FILE}.`,
    lastError === undefined ? {} : { cause: lastError },
  );
}

let cached: NativeBinding | undefined;

/** The native addon, loaded once; throws BentoError('unsupported') with build hints when missing. */
export function loadNative(): NativeBinding {
  // Only success is cached, so a build finished while bentod runs is picked up on the next call.
  cached ??= loadNativeFrom(nativeCandidatePaths());
  return cached;
}

/** Peer credentials of the Unix socket `fd`; invalid-input for a bad fd, io-error if the OS refuses. */
export function peerCredentialsOfFd(fd: number): PeerCredentials {
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new BentoError('invalid-input', `file descriptor must be an integer >= 0, got ${describe(fd)}`);
  }
  const binding = loadNative();
  try {
    return binding.getPeerCredentials(fd);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new BentoError(
      'io-error',
      `cannot read the peer credentials of fd ${fd}${typeof code === 'string' ? ` [${code}]` : ''}: ${errorMessage(err)}`,
      { cause: err },
    );
  }
}

/** Peer credentials of a connected Unix-socket client, e.g. a socket bentod's server accepted. */
export function peerCredentials(socket: net.Socket): PeerCredentials {
  // Node keeps the fd on its internal libuv handle; there is no public accessor.
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  if (handle === null || handle === undefined) {
    throw new BentoError('invalid-state', 'cannot read peer credentials: the socket is closed (it has no handle)');
  }
  const fd = handle.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    // -1 on Windows, and for handles Node opened without a plain fd.
    throw new BentoError(
      'unsupported',
      `cannot read peer credentials: the socket has no usable file descriptor (fd is ${describe(fd)})`,
    );
  }
  return peerCredentialsOfFd(fd);
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeof value;
}
