import fs from 'node:fs';
import path from 'node:path';
import { BentoError } from '../../errors.js';
import { fsSocketName, MAX_SOCKET_PATH } from '../../paths.js';
import { processAlive, processArgv } from '../../proc.js';
import type { VmSpec } from '../../types.js';
import { findVirtiofsd, virtiofsdCommand, type Virtiofsd } from '../../virtiofsd.js';
import type { Sidecar } from './vmm.js';

/** The vhost-user socket of every virtio-fs share of a VM, by mount index (deterministic, for argv and inspect). */
export function fsSockets(spec: VmSpec, dir: string): Record<number, string> {
  const out: Record<number, string> = {};
  spec.mounts.forEach((m, i) => {
    if (m.type === 'virtiofs') out[i] = path.join(dir, fsSocketName(i));
  });
  return out;
}

/**
 * What a start needs for the VM's shares: the virtiofsd sidecars bento-vmm runs before qemu, and the
 * sockets qemu connects to. Refuses (`start-failed`, naming the share) a share whose folder is gone, or
 * a virtio-fs share when no usable virtiofsd is here any more (the type was chosen at create).
 */
export function shareSidecars(spec: VmSpec, dir: string, vfsd: Virtiofsd | null = findVirtiofsd()): { sidecars: Sidecar[]; fsSockets: Record<number, string> } {
  const sockets = fsSockets(spec, dir);
  const sidecars: Sidecar[] = [];
  spec.mounts.forEach((m, i) => {
    let isDir = false;
    try {
      isDir = fs.statSync(m.source).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw new BentoError('start-failed', `start-failed: mounts[${i}]: the shared folder ${m.source} is gone or not a directory (change the VM's mounts, or bring it back)`);
    if (m.type !== 'virtiofs') return;
    if (!vfsd) {
      throw new BentoError('start-failed', `start-failed: mounts[${i}] (${m.source}) is a virtio-fs share, but no virtiofsd is found on this host any more (install virtiofsd, or set BENTO_VIRTIOFSD; or re-add the share so it becomes 9p)`);
    }
    if (!vfsd.usable) throw new BentoError('start-failed', `start-failed: mounts[${i}] (${m.source}) is a virtio-fs share, but ${vfsd.why ?? `${vfsd.path} cannot be used`}`);
    if (m.readonly && !vfsd.readonly) {
      throw new BentoError('start-failed', `start-failed: mounts[${i}] (${m.source}) is a read-only virtio-fs share, but ${vfsd.path} has no read-only mode, so it cannot keep the guest from writing; re-add the share so it becomes 9p`);
    }
    const socket = sockets[i]!;
    if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) throw new BentoError('start-failed', `start-failed: socket path ${socket} is longer than ${MAX_SOCKET_PATH} bytes; use a shorter BENTO_HOME`);
    sidecars.push({ socket, argv: virtiofsdCommand(vfsd, socket, m.source, m.readonly) });
  });
  return { sidecars, fsSockets: sockets };
}

/**
 * Live processes naming this VM folder's share sockets in their command line: its virtiofsds (and its
 * qemu and bento-vmm, which name them too). bento-vmm stops the virtiofsds with qemu; this finds any
 * that a killed monitor left behind, for killStray.
 * Linux only (virtiofsd exists nowhere else); elsewhere none.
 */
export function strayShareProcesses(dir: string): number[] {
  if (process.platform !== 'linux') return [];
  const prefix = `${dir}/fs-`;
  const out: number[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    const argv = processArgv(pid);
    if (argv?.some((a) => a.includes(prefix) && /fs-\d+\.sock$/.test(a)) && processAlive(pid)) out.push(pid);
  }
  return out;
}
