/**
 * What Virtualization.framework's VZLinuxBootLoader can boot: on Apple silicon an uncompressed
 * arm64 `Image` (magic "ARM\x64" at 0x38 of its header), on an Intel Mac an x86 kernel (a bzImage has
 * "HdrS" at 0x202). A gzip-compressed kernel (Debian's arm64 vmlinuz is one) must be decompressed
 * first. Pure: it looks only at the first bytes of the file.
 */

/** How many bytes of a kernel the check needs. */
export const KERNEL_HEAD_BYTES = 0x210;

const ARM64_MAGIC = Buffer.from('ARM\x64', 'latin1');
const X86_MAGIC = Buffer.from('HdrS', 'latin1');

/** The architecture a kernel image is for, from its header, or what else it is. */
export function kernelKind(head: Buffer): 'arm64' | 'x86' | 'gzip' | 'unknown' {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 0x3c && head.subarray(0x38, 0x3c).equals(ARM64_MAGIC)) return 'arm64';
  if (head.length >= 0x206 && head.subarray(0x202, 0x206).equals(X86_MAGIC)) return 'x86';
  return 'unknown';
}

/** Why the vz backend cannot boot this kernel on a host of `arch`, or null when it can. */
export function vzKernelProblem(path: string, head: Buffer, arch: 'arm64' | 'x64'): string | null {
  const kind = kernelKind(head);
  if (kind === 'gzip') {
    return `is gzip-compressed and the vz backend boots an uncompressed kernel: gunzip -c ${path} > ${path}.Image, then pass that file`;
  }
  const want = arch === 'arm64' ? 'arm64' : 'x86';
  if (kind === want) return null;
  if (kind === 'unknown') {
    return arch === 'arm64'
      ? 'is not an arm64 Linux Image (no "ARM\\x64" magic at offset 0x38); the vz backend on Apple silicon boots an uncompressed arm64 Image'
      : 'is not an x86 Linux kernel (no "HdrS" bzImage header at offset 0x202)';
  }
  return `is an ${kind} kernel and this Mac is ${arch === 'arm64' ? 'arm64 (Apple silicon)' : 'x86_64'}; the vz backend runs guests of the host's own architecture`;
}
