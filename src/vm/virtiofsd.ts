import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { findOnPath } from './host.js';
import type { Backend, MountType } from './types.js';

/**
 * A virtiofsd found on this host. Two kinds exist: the Rust one (`--shared-dir`, `--sandbox none` to
 * run unprivileged, `--readonly` in newer releases) and QEMU's legacy C one (`-o source=`, no
 * read-only mode, a sandbox that needs root).
 */
export interface Virtiofsd {
  path: string;
  flavor: 'rust' | 'c';
  /**
   * Whether a read-only share can be host-enforced: the Rust one's own `--readonly`, or, for the C
   * one as root, a read-only bind mount of the folder in a private mount namespace (`unshare -m`)
   * that it is started inside.
   */
  readonly: boolean;
  /** The `unshare` that gives the C one its read-only view, when it is used. */
  unshare?: string;
  /** Whether this process can run it (the C one only as root); `why` says why not. */
  usable: boolean;
  why: string | null;
}

/** Where distributions install virtiofsd (Debian/Fedora's Rust package, QEMU's own C one), before PATH. */
const CANDIDATES = ['/usr/libexec/virtiofsd', '/usr/lib/virtiofsd', '/usr/lib/qemu/virtiofsd'];

const probed = new Map<string, { mtimeMs: number; found: Virtiofsd | null }>();

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Classifies a virtiofsd by its `--help` text (pure, for tests); `unshare`: its path when on PATH. */
export function classifyVirtiofsd(file: string, help: string, root: boolean, unshare: string | null = null): Virtiofsd | null {
  if (help.includes('--shared-dir')) {
    return { path: file, flavor: 'rust', readonly: /--readonly\b/.test(help), usable: true, why: null };
  }
  if (help.includes('source=') || help.includes('sandbox=namespace')) {
    const ro = root && unshare !== null;
    return {
      path: file, flavor: 'c', readonly: ro, ...(ro ? { unshare: unshare! } : {}),
      usable: root, why: root ? null : `${file} is QEMU's C virtiofsd, whose sandbox needs root`,
    };
  }
  return null;
}

function probe(file: string): Virtiofsd | null {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    return null;
  }
  const hit = probed.get(file);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit.found;
  let help = '';
  try {
    help = execFileSync(file, ['--help'], { encoding: 'utf8', timeout: 5_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    // The C one prints its help and exits 0; some builds exit non-zero: take whatever it printed.
    const e = err as { stdout?: string; stderr?: string };
    help = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  const found = classifyVirtiofsd(file, help, isRoot(), findOnPath('unshare'));
  probed.set(file, { mtimeMs: st.mtimeMs, found });
  return found;
}

/**
 * The virtiofsd bento uses here, or null. BENTO_VIRTIOFSD names one explicitly (`none`: never use
 * virtio-fs on qemu); otherwise the first usable one of the usual places and PATH.
 */
export function findVirtiofsd(env: NodeJS.ProcessEnv = process.env): Virtiofsd | null {
  const forced = env.BENTO_VIRTIOFSD;
  if (forced === 'none') return null;
  if (forced) return probe(forced);
  let fallback: Virtiofsd | null = null;
  const onPath = findOnPath('virtiofsd');
  for (const file of [...CANDIDATES, ...(onPath ? [onPath] : [])]) {
    const found = probe(file);
    if (found?.usable) return found;
    fallback ??= found;
  }
  return fallback;
}

/**
 * How a new share reaches the guest. vz has virtio-fs built in (read-only honoured natively). On qemu:
 * virtio-fs when a usable virtiofsd is here and, for a read-only share, it can enforce read-only itself;
 * otherwise 9p, which QEMU serves itself and can make read-only on the host side (`readonly=on`).
 */
export function chooseMountType(backend: Backend, readonly: boolean, vfsd: Virtiofsd | null): MountType {
  if (backend === 'vz') return 'virtiofs';
  if (vfsd?.usable && (!readonly || vfsd.readonly)) return 'virtiofs';
  return '9p';
}

/** fuse's option parser splits on commas; a literal comma or backslash is escaped with a backslash. */
function fuseOptEscape(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll(',', '\\,');
}

/** The command line of a virtiofsd serving `source` on `socket` (pure, for golden tests). */
export function virtiofsdCommand(vfsd: Virtiofsd, socket: string, source: string, readonly: boolean, root = isRoot()): string[] {
  if (vfsd.flavor === 'rust') {
    return [
      vfsd.path, '--socket-path', socket, '--shared-dir', source, '--cache', 'auto',
      ...(readonly ? ['--readonly'] : []),
      // Its namespace sandbox needs privileges an ordinary user lacks; the share is then guarded by permissions only.
      ...(root ? [] : ['--sandbox', 'none']),
    ];
  }
  const cmd = [vfsd.path, `--socket-path=${socket}`, '-o', `source=${fuseOptEscape(source)}`, '-o', 'cache=auto'];
  if (!readonly) return cmd;
  if (!vfsd.unshare) throw new Error(`${vfsd.path} cannot serve a read-only share`);
  // The folder is bound onto itself read-only in a private mount namespace (the host's view is
  // untouched); exec keeps the pid, so bento-vmm's child is the virtiofsd itself.
  return [vfsd.unshare, '-m', '--', 'sh', '-c', C_READONLY_SCRIPT, source, ...cmd];
}

/** Run by `sh -c` with $0 = the folder and the virtiofsd command after it. */
export const C_READONLY_SCRIPT = 'mount --bind -- "$0" "$0" && mount -o remount,bind,ro -- "$0" && exec "$@"';
