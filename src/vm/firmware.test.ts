import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BentoError } from './errors.js';
import { ensureVars, findUefi, requireUefi } from './firmware.js';

/** An `exists` that answers yes for exactly these paths. */
const only = (...paths: string[]) => (p: string): boolean => paths.includes(p);

describe('findUefi', () => {
  it('picks Debian\'s 4M OVMF build first on x64', () => {
    const exists = only('/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd', '/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd');
    expect(findUefi('x64', exists)).toEqual({ code: '/usr/share/OVMF/OVMF_CODE_4M.fd', varsTemplate: '/usr/share/OVMF/OVMF_VARS_4M.fd' });
  });

  it('skips a pair whose variables template is missing for the next complete one', () => {
    const exists = only('/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/OVMF/OVMF_VARS.fd');
    expect(findUefi('x64', exists)).toEqual({ code: '/usr/share/OVMF/OVMF_CODE.fd', varsTemplate: '/usr/share/OVMF/OVMF_VARS.fd' });
  });

  it('does not pair code and variables of different builds', () => {
    expect(findUefi('x64', only('/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS.fd'))).toBeNull();
  });

  it('is null when only code is installed', () => {
    expect(findUefi('x64', only('/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/qemu/edk2-x86_64-code.fd'))).toBeNull();
    expect(findUefi('arm64', only('/usr/share/AAVMF/AAVMF_CODE.fd'))).toBeNull();
    expect(findUefi('x64', () => false)).toBeNull();
  });

  it('finds QEMU\'s own edk2 copies (x86_64 code with the i386 vars template)', () => {
    expect(findUefi('x64', only('/usr/share/qemu/edk2-x86_64-code.fd', '/usr/share/qemu/edk2-i386-vars.fd'))).toEqual({
      code: '/usr/share/qemu/edk2-x86_64-code.fd',
      varsTemplate: '/usr/share/qemu/edk2-i386-vars.fd',
    });
  });

  it('looks only at the architecture asked for', () => {
    const x64 = only('/usr/share/OVMF/OVMF_CODE_4M.fd', '/usr/share/OVMF/OVMF_VARS_4M.fd');
    expect(findUefi('arm64', x64)).toBeNull();
    const arm = only('/usr/share/AAVMF/AAVMF_CODE.fd', '/usr/share/AAVMF/AAVMF_VARS.fd');
    expect(findUefi('x64', arm)).toBeNull();
    expect(findUefi('arm64', arm)).toEqual({ code: '/usr/share/AAVMF/AAVMF_CODE.fd', varsTemplate: '/usr/share/AAVMF/AAVMF_VARS.fd' });
  });

  it('finds Homebrew\'s build on an arm64 Mac', () => {
    expect(findUefi('arm64', only('/opt/homebrew/share/qemu/edk2-aarch64-code.fd', '/opt/homebrew/share/qemu/edk2-arm-vars.fd'))).toEqual({
      code: '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
      varsTemplate: '/opt/homebrew/share/qemu/edk2-arm-vars.fd',
    });
  });

  it('asks about code and its variables template only', () => {
    const asked: string[] = [];
    findUefi('x64', (p) => {
      asked.push(p);
      return false;
    });
    expect(asked.length).toBeGreaterThan(0);
    for (const p of asked) expect(p).toMatch(/\.fd$/);
    expect(asked).toContain('/usr/share/OVMF/OVMF_CODE_4M.fd');
  });
});

describe('requireUefi', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ['x64', 'apt-get install ovmf', '/usr/share/OVMF/OVMF_CODE_4M.fd'],
    ['arm64', 'apt-get install qemu-efi-aarch64', '/usr/share/AAVMF/AAVMF_CODE.fd'],
  ] as const)('on %s without firmware, fails the start naming the package and where it looked', (arch, pkg, looked) => {
    vi.spyOn(fs, 'existsSync').mockReturnValue(false);
    let err: unknown;
    try {
      requireUefi(arch);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BentoError);
    expect(err).toMatchObject({ code: 'start-failed' });
    expect((err as Error).message).toMatch(/^start-failed: this VM boots with UEFI and no UEFI firmware is installed/);
    expect((err as Error).message).toContain(pkg);
    expect((err as Error).message).toContain(looked);
  });

  it('returns the firmware found', () => {
    vi.spyOn(fs, 'existsSync').mockImplementation((p) => String(p).startsWith('/usr/share/AAVMF/'));
    expect(requireUefi('arm64')).toEqual({ code: '/usr/share/AAVMF/AAVMF_CODE.fd', varsTemplate: '/usr/share/AAVMF/AAVMF_VARS.fd' });
  });
});

describe('ensureVars', () => {
  it('copies the template once, 0600, and never overwrites the VM\'s own variables', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-fw-'));
    try {
      const template = path.join(dir, 'VARS.fd');
      fs.writeFileSync(template, 'template', { mode: 0o644 });
      const vars = path.join(dir, 'efi-vars.fd');
      ensureVars({ code: path.join(dir, 'CODE.fd'), varsTemplate: template }, vars);
      expect(fs.readFileSync(vars, 'utf8')).toBe('template');
      expect(fs.statSync(vars).mode & 0o777).toBe(0o600);
      fs.writeFileSync(vars, 'boot entries the guest wrote');
      ensureVars({ code: path.join(dir, 'CODE.fd'), varsTemplate: template }, vars);
      expect(fs.readFileSync(vars, 'utf8')).toBe('boot entries the guest wrote');
      expect(fs.readdirSync(dir).sort()).toEqual(['VARS.fd', 'efi-vars.fd']);
      expect(() => ensureVars({ code: '/x', varsTemplate: path.join(dir, 'missing.fd') }, path.join(dir, 'other.fd'))).toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
