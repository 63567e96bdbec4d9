import fs from 'node:fs';
import { BentoError } from './errors.js';

/** UEFI firmware as distributions package it: read-only code, and a variables template each VM copies. */
export interface UefiFirmware {
  code: string;
  varsTemplate: string;
}

/**
 * Where packages put edk2 builds, most specific first: Debian/Ubuntu `ovmf` (4M builds, then the
 * older 2M ones) and `qemu-efi-aarch64`, Fedora's edk2, QEMU's own copies (Homebrew, source builds).
 */
const CANDIDATES: Record<'x64' | 'arm64', UefiFirmware[]> = {
  x64: [
    { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd' },
    { code: '/usr/share/OVMF/OVMF_CODE.fd', varsTemplate: '/usr/share/OVMF/OVMF_VARS.fd' },
    { code: '/usr/share/edk2/ovmf/OVMF_CODE.fd', varsTemplate: '/usr/share/edk2/ovmf/OVMF_VARS.fd' },
    { code: '/usr/share/qemu/edk2-x86_64-code.fd', varsTemplate: '/usr/share/qemu/edk2-i386-vars.fd' },
    { code: '/usr/local/share/qemu/edk2-x86_64-code.fd', varsTemplate: '/usr/local/share/qemu/edk2-i386-vars.fd' },
  ],
  arm64: [
    { code: '/usr/share/AAVMF/AAVMF_CODE.fd', varsTemplate: '/usr/share/AAVMF/AAVMF_VARS.fd' },
    { code: '/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw', varsTemplate: '/usr/share/edk2/aarch64/vars-template-pflash.raw' },
    { code: '/opt/homebrew/share/qemu/edk2-aarch64-code.fd', varsTemplate: '/opt/homebrew/share/qemu/edk2-arm-vars.fd' },
    { code: '/usr/local/share/qemu/edk2-aarch64-code.fd', varsTemplate: '/usr/local/share/qemu/edk2-arm-vars.fd' },
    { code: '/usr/share/qemu/edk2-aarch64-code.fd', varsTemplate: '/usr/share/qemu/edk2-arm-vars.fd' },
  ],
};

/** The UEFI firmware installed for this architecture, or null. */
export function findUefi(arch: 'x64' | 'arm64', exists: (p: string) => boolean = fs.existsSync): UefiFirmware | null {
  return CANDIDATES[arch].find((c) => exists(c.code) && exists(c.varsTemplate)) ?? null;
}

/** The firmware, or a start-failed error saying which package provides it. */
export function requireUefi(arch: 'x64' | 'arm64'): UefiFirmware {
  const found = findUefi(arch);
  if (found) return found;
  const pkg = arch === 'arm64' ? 'qemu-efi-aarch64' : 'ovmf';
  throw new BentoError('start-failed', `start-failed: this VM boots with UEFI and no UEFI firmware is installed (apt-get install ${pkg}; looked in ${CANDIDATES[arch].map((c) => c.code).join(', ')})`);
}

/** Gives a VM its own copy of the variables template the first time it starts with UEFI. */
export function ensureVars(fw: UefiFirmware, vars: string): void {
  if (fs.existsSync(vars)) return;
  const tmp = `${vars}.tmp-${process.pid}`;
  fs.copyFileSync(fw.varsTemplate, tmp);
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, vars);
}
