// What a downloaded image is, from its first bytes: qcow2 (magic `QFI\xfb`) or raw. A qcow2 base
// must be self-contained: a backing file or external data file named inside an image from the
// internet would make QEMU open that host path when a VM boots from it.
import type { ImageFormat } from './types.js';

/** Bytes of an image's head that sniffImage reads (the qcow2 v3 header fields it checks fit in it). */
export const IMAGE_HEAD_BYTES = 512;

const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
/** qcow2 v3 incompatible feature bit: the guest data lives in a separate file. */
const QCOW2_EXTERNAL_DATA = 1n << 2n;

/** Formats that look like a disk image's container or compression, which bento does not unpack. */
const FOREIGN: [Buffer, string][] = [
  [Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), 'xz-compressed'],
  [Buffer.from([0x1f, 0x8b]), 'gzip-compressed'],
  [Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), 'zstd-compressed'],
  [Buffer.from('BZh'), 'bzip2-compressed'],
  [Buffer.from('KDMV'), 'a VMDK image'],
  [Buffer.from('vhdxfile'), 'a VHDX image'],
];

/** The sniffed format of an image, or why bento will not keep it. */
export type SniffResult = { ok: true; format: ImageFormat; virtualSize: number | null } | { ok: false; problem: string };

/** Detects an image's format from its head (first IMAGE_HEAD_BYTES bytes) and its size in bytes. */
export function sniffImage(head: Buffer, fileSize: number): SniffResult {
  if (head.length >= 32 && head.subarray(0, 4).equals(QCOW2_MAGIC)) {
    const version = head.readUInt32BE(4);
    if (version !== 2 && version !== 3) return { ok: false, problem: `is a qcow2 image of version ${version} (bento reads versions 2 and 3)` };
    if (head.readBigUInt64BE(8) !== 0n) return { ok: false, problem: 'is a qcow2 image with a backing file: bento keeps only self-contained base images' };
    if (head.length >= 36 && head.readUInt32BE(32) !== 0) return { ok: false, problem: 'is an encrypted qcow2 image' };
    if (version === 3 && head.length >= 80 && (head.readBigUInt64BE(72) & QCOW2_EXTERNAL_DATA) !== 0n) {
      return { ok: false, problem: 'is a qcow2 image with an external data file: bento keeps only self-contained base images' };
    }
    const size = head.readBigUInt64BE(24);
    return { ok: true, format: 'qcow2', virtualSize: size <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(size) : null };
  }
  for (const [magic, what] of FOREIGN) {
    if (head.length >= magic.length && head.subarray(0, magic.length).equals(magic)) {
      return { ok: false, problem: `is ${what}, not a qcow2 or raw disk image (unpack it and pull the result)` };
    }
  }
  if (fileSize === 0) return { ok: false, problem: 'is empty' };
  return { ok: true, format: 'raw', virtualSize: fileSize };
}
