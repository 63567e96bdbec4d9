import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { isMap, parseDocument, stringify } from 'yaml';
import { BentoError, errorMessage } from './errors.js';
import { findOnPath } from './host.js';
import { guestMountScript } from './mounts.js';
import type { MountSpec, VmSpec } from './types.js';

const run = promisify(execFile);

/** The line cloud-init prints on the console when its last stage ends (our final_message). */
export const FINAL_MARKER = 'bento: cloud-init finished';
/** cloud-init's own final message, for user-data that replaces ours. */
export const FINAL_RE = /(?:bento: cloud-init finished|Cloud-init v\. \S+ finished at )/;

/** The kinds of user-data cloud-init reads that bento can place beside its own cloud-config. */
const PART_TYPES: [prefix: string, mime: string][] = [
  ['#!', 'text/x-shellscript'],
  ['#include', 'text/x-include-url'],
  ['#cloud-boothook', 'text/cloud-boothook'],
  ['#part-handler', 'text/part-handler'],
];

/** Why user-data cannot be used, or null: cloud-config must be a YAML mapping; other kinds need a known header. */
export function userDataProblem(text: string): string | null {
  if (isCloudConfig(text)) {
    const doc = parseDocument(text);
    if (doc.errors.length) return `is not valid cloud-config YAML: ${doc.errors[0]!.message.split('\n')[0]}`;
    if (doc.contents !== null && !isMap(doc.contents)) return 'must be a cloud-config mapping (keys and values) after its #cloud-config line';
    const users: unknown = (doc.toJS() as Record<string, unknown> | null)?.users;
    // A users value that is not a list would replace bento's user (and its SSH key) instead of adding to it.
    if (users !== undefined && !Array.isArray(users)) return 'users must be a list in cloud-config (bento adds its own user to it)';
    return null;
  }
  if (PART_TYPES.some(([p]) => text.startsWith(p))) return null;
  return 'must start with #cloud-config (merged into bento\'s), or be a script (#!), #include, #cloud-boothook or #part-handler (passed through beside it)';
}

function isCloudConfig(text: string): boolean {
  return /^#cloud-config[ \t]*(\r?\n|$)/.test(text);
}

/** The guest's hostname for a VM name: a VM name may hold `_`, a hostname may not (RFC 1123), so it becomes `-`. */
export function guestHostname(vmName: string): string {
  return vmName.replaceAll('_', '-');
}

/** The file on the seed that mounts the VM's shared folders (run at every boot by bento's bootcmd). */
export const MOUNT_SCRIPT = 'bento-mounts.sh';

/**
 * bento's bootcmd: at every boot (bootcmd runs each boot; a seed's files are read afresh, unlike the
 * user-data cloud-init caches per instance) mount the seed read-only, run its mount script, let go.
 * So a change of the VM's shares, written to the seed, reaches the guest at its next boot without a
 * new instance-id (which would make new SSH host keys). Never fails the boot.
 */
export const MOUNT_BOOTCMD =
  `s=/run/bento-seed; mkdir -p "$s" && if mount -r -t iso9660 /dev/disk/by-label/cidata "$s"; then ` +
  `if [ -f "$s/${MOUNT_SCRIPT}" ]; then sh "$s/${MOUNT_SCRIPT}"; fi; umount "$s"; fi; true`;

/** What bento puts into every seed. */
export interface SeedInput {
  spec: Pick<VmSpec, 'name' | 'cloudInit' | 'image'> & { mounts?: MountSpec[] };
  /** OpenSSH public key lines the guest user accepts. */
  sshKeys: string[];
  /** The user's own user-data, merged (cloud-config) or passed beside ours (anything else). */
  userData: string | null;
}

/** The files of a NoCloud seed, by name (bento's mount script beside cloud-init's two). */
export type SeedFiles = Record<'meta-data' | 'user-data', string> & { [MOUNT_SCRIPT]?: string };

/** bento's own cloud-config for a VM, as an object. */
export function baseCloudConfig(input: SeedInput): Record<string, unknown> {
  const ci = input.spec.cloudInit;
  if (!ci) throw new BentoError('internal', `${input.spec.name} has no cloud-init settings`);
  // Alpine's cloud images have no bash; a user whose shell is missing is not created at all.
  const alpine = /^alpine/i.test(input.spec.image?.ref ?? '');
  return {
    hostname: guestHostname(input.spec.name),
    manage_etc_hosts: true,
    users: [
      {
        name: ci.user,
        gecos: 'bento',
        ...(alpine ? {} : { shell: '/bin/bash' }),
        lock_passwd: true,
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        ssh_authorized_keys: input.sshKeys,
      },
    ],
    ssh_pwauth: false,
    disable_root: true,
    // The host keys go to the console (cloud-init's default, kept explicit): bento pins them from there.
    ssh_fp_console_blacklist: [],
    ssh_key_console_blacklist: [],
    bootcmd: [MOUNT_BOOTCMD],
    growpart: { mode: 'auto', devices: ['/'] },
    resize_rootfs: true,
    final_message: `${FINAL_MARKER} after $UPTIME seconds`,
  };
}

/** Deep merge for cloud-config: maps merge, lists concatenate (ours first), the user's scalars win. */
export function mergeCloudConfig(ours: unknown, theirs: unknown): unknown {
  if (Array.isArray(ours) && Array.isArray(theirs)) return [...(ours as unknown[]), ...(theirs as unknown[])];
  if (isPlainObject(ours) && isPlainObject(theirs)) {
    const out: Record<string, unknown> = { ...ours };
    for (const [k, v] of Object.entries(theirs)) out[k] = k in out ? mergeCloudConfig(out[k], v) : v;
    return out;
  }
  return theirs === undefined ? ours : theirs;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The seed's meta-data and user-data for a VM. */
export function seedFiles(input: SeedInput): SeedFiles {
  const ci = input.spec.cloudInit;
  if (!ci) throw new BentoError('internal', `${input.spec.name} has no cloud-init settings`);
  const metaData = stringify({ 'instance-id': ci.instanceId, 'local-hostname': guestHostname(input.spec.name) });
  const ours = baseCloudConfig(input);
  const user = input.userData;
  let userData: string;
  if (user === null) {
    userData = `#cloud-config\n${stringify(ours)}`;
  } else if (isCloudConfig(user)) {
    const theirs: unknown = parseDocument(user).toJS() ?? {};
    const merged = mergeCloudConfig(ours, theirs) as Record<string, unknown>;
    // cloud-init prints one final_message: a user's own would hide our marker and the readiness
    // watch would wait forever, so theirs is printed first and ours on the next line.
    const theirMessage = isPlainObject(theirs) ? theirs.final_message : undefined;
    merged.final_message = typeof theirMessage === 'string' && theirMessage.trim() ? `${theirMessage.trimEnd()}\n${String(ours.final_message)}` : ours.final_message;
    userData = `#cloud-config\n${stringify(merged)}`;
  } else {
    userData = multipart([
      ['text/cloud-config', `#cloud-config\n${stringify(ours)}`],
      [PART_TYPES.find(([p]) => user.startsWith(p))?.[1] ?? 'text/plain', user],
    ]);
  }
  return { 'meta-data': metaData, 'user-data': userData, [MOUNT_SCRIPT]: guestMountScript(input.spec.mounts ?? []) };
}

/** A MIME multipart user-data (cloud-init runs each part by its type). */
function multipart(parts: [type: string, body: string][]): string {
  let boundary = '==BENTO-BOUNDARY==';
  while (parts.some(([, b]) => b.includes(boundary))) boundary = `==BENTO-${Math.random().toString(36).slice(2)}==`;
  const lines = ['Content-Type: multipart/mixed; boundary="' + boundary + '"', 'MIME-Version: 1.0', ''];
  for (const [type, body] of parts) {
    lines.push(`--${boundary}`, `Content-Type: ${type}; charset="utf-8"`, 'MIME-Version: 1.0', 'Content-Transfer-Encoding: 8bit', '', body.endsWith('\n') ? body.slice(0, -1) : body);
  }
  lines.push(`--${boundary}--`, '');
  return lines.join('\n');
}

/** A program that writes an ISO 9660 volume with Joliet and Rock Ridge, as NoCloud wants. */
interface IsoTool {
  cmd: string;
  args: (out: string, dir: string) => string[];
}

const ISO_TOOLS: IsoTool[] = [
  { cmd: 'genisoimage', args: (o, d) => ['-quiet', '-output', o, '-volid', 'cidata', '-joliet', '-rock', d] },
  { cmd: 'xorriso', args: (o, d) => ['-as', 'mkisofs', '-quiet', '-output', o, '-volid', 'cidata', '-joliet', '-rock', d] },
  { cmd: 'mkisofs', args: (o, d) => ['-quiet', '-output', o, '-volid', 'cidata', '-joliet', '-rock', d] },
  // macOS: hdiutil ships with the system.
  { cmd: 'hdiutil', args: (o, d) => ['makehybrid', '-quiet', '-o', o, '-iso', '-joliet', '-default-volume-name', 'cidata', d] },
];

/** The ISO writer bento uses here, or null with the reason it would give. */
export function isoTool(): { tool: IsoTool; path: string } | null {
  for (const tool of ISO_TOOLS) {
    const p = findOnPath(tool.cmd);
    if (p) return { tool, path: p };
  }
  return null;
}

/** The reason no seed can be made here, or null when an ISO writer is available. */
export function seedUnavailable(): string | null {
  return isoTool() ? null : 'no ISO writer found to make the cloud-init seed: install genisoimage (apt-get install genisoimage) or xorriso';
}

/**
 * Writes the seed volume (label `cidata`) to `out` atomically: the files go to a private temp folder,
 * the ISO to a temp name beside `out`, then a rename. Never leaves a half-written seed.
 */
export async function writeSeedIso(out: string, files: SeedFiles): Promise<void> {
  const found = isoTool();
  if (!found) throw new BentoError('unsupported', seedUnavailable()!);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-seed-'));
  const tmpOut = `${out}.tmp-${process.pid}`;
  try {
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(tmpDir, name), text, { mode: 0o600 });
    await run(found.path, found.tool.args(tmpOut, tmpDir), { timeout: 60_000 });
    fs.chmodSync(tmpOut, 0o600);
    const fd = fs.openSync(tmpOut, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmpOut, out);
  } catch (err) {
    fs.rmSync(tmpOut, { force: true });
    throw new BentoError('io-error', `could not write the cloud-init seed ${out} with ${found.tool.cmd}: ${errorMessage(err)}`, { cause: err });
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}
