import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BentoError } from './errors.js';
import { realHost } from './host.js';
import { KERNEL_HEAD_BYTES, kernelKind, vzKernelProblem } from './kernel-format.js';
import { applyPatch, validateCreate, type HostFacts } from './spec.js';

/** Small files shaped like the headers the check reads: the real magics at their real offsets. */
function crafted(dir: string): Record<'arm64' | 'x86' | 'gzip' | 'junk', string> {
  const arm = Buffer.alloc(KERNEL_HEAD_BYTES);
  arm.write('ARM\x64', 0x38, 'latin1');
  const x86 = Buffer.alloc(KERNEL_HEAD_BYTES);
  x86.write('HdrS', 0x202, 'latin1');
  const gz = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0]);
  const files = { arm64: arm, x86, gzip: gz, junk: Buffer.from('not a kernel') };
  return Object.fromEntries(
    Object.entries(files).map(([k, b]) => {
      const p = path.join(dir, k);
      fs.writeFileSync(p, b);
      return [k, p];
    }),
  ) as Record<'arm64' | 'x86' | 'gzip' | 'junk', string>;
}

function fieldMessages(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof BentoError) return (err.fields ?? []).map((f) => `${f.field}: ${f.message}`);
    throw err;
  }
  return [];
}

describe('the vz backend boots only a kernel it can: uncompressed, of the host architecture', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kern-'));
  const k = crafted(dir);
  const head = (p: string): Buffer => fs.readFileSync(p).subarray(0, KERNEL_HEAD_BYTES);

  it('tells the kinds apart by their headers', () => {
    expect([kernelKind(head(k.arm64)), kernelKind(head(k.x86)), kernelKind(head(k.gzip)), kernelKind(head(k.junk))]).toEqual(['arm64', 'x86', 'gzip', 'unknown']);
  });

  it('on Apple silicon: an arm64 Image passes; gzip, x86 and junk are refused saying why', () => {
    expect(vzKernelProblem(k.arm64, head(k.arm64), 'arm64')).toBeNull();
    expect(vzKernelProblem(k.gzip, head(k.gzip), 'arm64')).toBe(`is gzip-compressed and the vz backend boots an uncompressed kernel: gunzip -c ${k.gzip} > ${k.gzip}.Image, then pass that file`);
    expect(vzKernelProblem(k.x86, head(k.x86), 'arm64')).toMatch(/^is an x86 kernel and this Mac is arm64/);
    expect(vzKernelProblem(k.junk, head(k.junk), 'arm64')).toMatch(/^is not an arm64 Linux Image/);
  });

  it('on an Intel Mac: a bzImage passes; an arm64 Image is refused', () => {
    expect(vzKernelProblem(k.x86, head(k.x86), 'x64')).toBeNull();
    expect(vzKernelProblem(k.arm64, head(k.arm64), 'x64')).toMatch(/^is an arm64 kernel and this Mac is x86_64/);
  });

  it('create and PATCH with the vz backend refuse such a kernel with a field error; qemu does not care', () => {
    const host: HostFacts = { ...realHost(), arch: 'arm64', backendUnavailable: () => null };
    const create = (kernel: string, backend: 'vz' | 'qemu') => () => validateCreate({ name: 'k', backend, kernel }, host, () => 'raw');
    expect(fieldMessages(create(k.arm64, 'vz'))).toEqual([]);
    expect(fieldMessages(create(k.gzip, 'vz'))).toEqual([`kernel: is gzip-compressed and the vz backend boots an uncompressed kernel: gunzip -c ${k.gzip} > ${k.gzip}.Image, then pass that file`]);
    expect(fieldMessages(create(k.x86, 'vz'))[0]).toMatch(/^kernel: is an x86 kernel/);
    expect(fieldMessages(create(k.x86, 'qemu'))).toEqual([]);
    const { spec } = validateCreate({ name: 'k', backend: 'vz', kernel: k.arm64 }, host, () => 'raw');
    expect(fieldMessages(() => applyPatch(spec, { kernel: k.gzip }, host))[0]).toMatch(/^kernel: is gzip-compressed/);
    expect(applyPatch(spec, { kernel: k.arm64 }, host).kernel).toBe(k.arm64);
  });
});
