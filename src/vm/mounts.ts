import path from 'node:path';
import type { FieldError } from './errors.js';
import type { HostFacts } from './spec.js';
import type { Backend, MountSpec, MountType, VmSpec } from './types.js';

/** How `--mount` is written, for error messages and help. */
export const MOUNT_RULE = 'SRC[:DST][:ro] (SRC an existing host folder, DST an absolute guest path; paths without ":")';
/** Most shares one VM may have (each is a PCI device, and a virtiofsd process with virtio-fs). */
export const MAX_MOUNTS = 8;
/** Longest device tag virtio-fs accepts (its config space holds 36 bytes; 9p's mount_tag allows more). */
export const MAX_TAG = 31;
/** Guest folders a share may not cover: the root, and the kernel's own filesystems. */
const FORBIDDEN_TARGETS = ['/proc', '/sys', '/dev'];

/** A `--mount` argument split into its parts, before any host check. */
export interface MountArg {
  source: string;
  target: string | null;
  readonly: boolean;
}

/** Splits `SRC[:DST][:ro|:rw]`; returns null when it has the wrong shape. */
export function parseMountArg(v: string): MountArg | null {
  const parts = v.split(':');
  let readonly = false;
  if (parts.length > 1 && (parts.at(-1) === 'ro' || parts.at(-1) === 'rw')) readonly = parts.pop() === 'ro';
  if (parts.length > 2 || !parts[0]) return null;
  const target = parts.length === 2 ? parts[1]! : null;
  if (target === '') return null;
  return { source: parts[0], target, readonly };
}

/** The `--mount` text of a stored share (what PATCH and the CLI take back). */
export function formatMount(m: Pick<MountSpec, 'source' | 'target' | 'readonly'>): string {
  return `${m.source}:${m.target}${m.readonly ? ':ro' : ''}`;
}

/** The device tag of the share at position `i`. */
export function mountTag(i: number): string {
  return `bento${i}`;
}

// Control characters would break the guest's mount script and the shell lines `inspect` prints.
function hasControl(s: string): boolean {
  return [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

function targetProblem(t: string): string | null {
  if (!path.posix.isAbsolute(t)) return `must be an absolute path (got "${t}")`;
  if (hasControl(t)) return 'must not contain control characters';
  const norm = path.posix.normalize(t);
  if (norm === '/') return 'must not be / (a share cannot replace the guest\'s root)';
  const bad = FORBIDDEN_TARGETS.find((f) => norm === f || norm.startsWith(`${f}/`));
  if (bad) return `must not be ${bad} or under it (the guest kernel's own filesystem)`;
  return null;
}

/** What a host says about a share's source: its real path, or why it cannot be shared. */
function sourceCheck(host: HostFacts, p: string): { real: string } | { problem: string } {
  if (!path.isAbsolute(p)) return { problem: `must be an absolute path (got "${p}")` };
  if (hasControl(p)) return { problem: 'must not contain control characters' };
  if (host.realDir) {
    const r = host.realDir(p);
    if (r === 'missing') return { problem: `does not exist: ${p}` };
    if (r === 'not-a-directory') return { problem: `is not a directory: ${p}` };
    return { real: r };
  }
  // Hosts without realDir (unit tests): stat's `other` stands for a folder.
  const s = host.stat(p);
  if (s === 'missing') return { problem: `does not exist: ${p}` };
  if (s === 'file') return { problem: `is not a directory: ${p}` };
  return { real: path.resolve(p) };
}

/**
 * Parses and checks a list of `--mount` arguments; problems go to `out` with field names like
 * `mounts[1].target`. `previous` keeps the type of a share that is unchanged (a PATCH re-lists them all).
 */
export function checkMounts(list: string[] | undefined, backend: Backend, host: HostFacts, out: FieldError[], previous: MountSpec[] = []): MountSpec[] {
  if (list === undefined) return [];
  if (list.length > MAX_MOUNTS) {
    out.push({ field: 'mounts', message: `must have at most ${MAX_MOUNTS} entries (got ${list.length})` });
    return [];
  }
  const mounts: MountSpec[] = [];
  list.forEach((v, i) => {
    const arg = parseMountArg(v);
    if (!arg) {
      out.push({ field: `mounts[${i}]`, message: `must be ${MOUNT_RULE} (got "${v}")` });
      return;
    }
    const src = sourceCheck(host, arg.source);
    if ('problem' in src) out.push({ field: `mounts[${i}].source`, message: src.problem });
    const base = path.basename(arg.source);
    const target = arg.target ?? (base ? `/mnt/${base}` : '');
    const tp = target ? targetProblem(target) : 'is needed when the source is / (there is no name to default to)';
    if (tp) out.push({ field: `mounts[${i}].target`, message: tp });
    if ('problem' in src || tp) return;
    const norm = path.posix.normalize(target).replace(/\/+$/, '');
    const kept = previous.find((m) => m.source === src.real && m.target === norm && m.readonly === arg.readonly);
    const type: MountType = kept?.type ?? host.mountType?.(backend, arg.readonly) ?? (backend === 'vz' ? 'virtiofs' : '9p');
    mounts.push({ source: src.real, target: norm, readonly: arg.readonly, tag: mountTag(i), type });
  });
  const seen = new Map<string, number>();
  mounts.forEach((m) => {
    const first = seen.get(m.target);
    if (first !== undefined) out.push({ field: 'mounts', message: `mount ${m.target} twice (${mounts[first]!.source} and ${m.source}); each share needs its own target` });
    else seen.set(m.target, mounts.indexOf(m));
  });
  return mounts;
}

function shq(s: string): string {
  return /^[A-Za-z0-9_./:=,+-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** The mount options a guest uses for a share. */
export function guestMountOptions(m: Pick<MountSpec, 'type' | 'readonly'>): string {
  const opts = m.type === '9p' ? ['trans=virtio', 'version=9p2000.L', 'msize=262144'] : [];
  if (m.readonly) opts.push('ro');
  return opts.join(',') || 'defaults';
}

/** The shell commands that mount a share in a Linux guest (what `inspect` shows and the README documents). */
export function guestMountCommands(m: MountSpec): string[] {
  const opts = guestMountOptions(m);
  return [`mkdir -p ${shq(m.target)}`, `mount -t ${m.type}${opts === 'defaults' ? '' : ` -o ${opts}`} ${m.tag} ${shq(m.target)}`];
}

/** The /etc/fstab line for a share, for guests that should mount it at every boot by themselves. */
export function guestFstabLine(m: MountSpec): string {
  // fstab separates fields with blanks: a blank inside the target is written \040.
  // nofail: a share that is missing (removed from the VM) never holds up the guest's boot.
  return `${m.tag} ${m.target.replaceAll(' ', '\\040')} ${m.type} ${guestMountOptions(m)},nofail 0 0`;
}

/**
 * The script an image guest runs at every boot (from its seed, see cloud-init.ts): it mounts each share
 * that is not mounted yet, and never fails the boot.
 */
export function guestMountScript(mounts: MountSpec[]): string {
  const lines = [
    '#!/bin/sh',
    '# Written by bento: mounts this VM\'s shared folders. It is read from the seed at every boot, so a',
    '# change of `bento` mounts reaches the guest at its next boot.',
    'share() {',
    '  mkdir -p "$4" || return 0',
    '  mountpoint -q "$4" && return 0',
    '  mount -t "$2" -o "$3" "$1" "$4" || echo "bento: cannot mount share $1 on $4" >&2',
    '}',
    ...mounts.map((m) => `share ${m.tag} ${m.type} ${guestMountOptions(m)} ${shq(m.target)}`),
    'exit 0',
    '',
  ];
  return lines.join('\n');
}

/** How a VM's shares get mounted in its guest, for `inspect`: by bento's seed at every boot, or by hand with these commands. */
export function mountGuide(spec: Pick<VmSpec, 'mounts' | 'cloudInit'>): { automatic: boolean; commands: string[]; fstab: string[] } {
  return {
    automatic: spec.cloudInit !== null,
    commands: spec.mounts.flatMap(guestMountCommands),
    fstab: spec.mounts.map(guestFstabLine),
  };
}
