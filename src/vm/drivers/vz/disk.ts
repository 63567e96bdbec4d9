import fs from 'node:fs';
import { BentoError, errorMessage } from '../../errors.js';
import type { DiskFormat } from '../../types.js';

/** qcow2's magic, "QFI\xfb", at offset 0. */
const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);

/**
 * An image's format from its first bytes, for hosts without qemu-img (a Mac with only the vz backend):
 * qcow2 by its magic, anything else raw. Never used to tell QEMU a format: there bento passes the
 * format explicitly, and this is only as good as the qcow2/raw distinction vz needs.
 */
export function sniffDiskFormat(file: string): DiskFormat {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    throw new BentoError('invalid-input', `disk: cannot read ${file}: ${errorMessage(err)}`, {
      fields: [{ field: 'disk', message: 'must be a readable image' }],
    });
  }
  try {
    const head = Buffer.alloc(4);
    const n = fs.readSync(fd, head, 0, 4, 0);
    return n === 4 && head.equals(QCOW2_MAGIC) ? 'qcow2' : 'raw';
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates a sparse raw disk of `mib` MiB (vz reads raw images only; no qemu-img needed), mode 0600. */
export function createRawDisk(file: string, mib: number): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'wx', 0o600);
    fs.ftruncateSync(fd, mib * 1024 * 1024);
  } catch (err) {
    throw new BentoError('io-error', `failed to create ${file}: ${errorMessage(err)}`, { cause: err });
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
