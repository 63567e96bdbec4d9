import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { VmSpec } from '../../types.js';
import { buildQemuCommand, qemuEscape, type QemuFiles } from './argv.js';

const GOLDEN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures/golden');

const base: VmSpec = {
  name: 'demo',
  backend: 'qemu',
  cpus: 2,
  memoryMiB: 512,
  accel: 'auto',
  kernel: '/guest/vmlinuz',
  initrd: '/guest/initrd.img',
  cmdline: 'console=ttyS0 quiet',
  disks: [],
  iso: null,
  mac: '52:54:00:12:34:56',
  console: 'serial',
  createdAt: '2026-01-01T00:00:00.000Z',
  image: null, firmware: 'bios', network: 'nat', publish: [], cloudInit: null,
};

function files(dir: string): QemuFiles {
  return {
    pid: `${dir}/qemu.pid`,
    qmp: `${dir}/qmp.sock`,
    serialSocket: `${dir}/serial.sock`,
    consoleSocket: `${dir}/console.sock`,
  };
}

/** Compares with test/fixtures/golden/NAME.argv (one argument per line); UPDATE_GOLDEN=1 rewrites it. */
function golden(name: string, cmd: { binary: string; args: string[] }): void {
  const text = [cmd.binary, ...cmd.args].join('\n') + '\n';
  const file = path.join(GOLDEN, `${name}.argv`);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, text);
  expect(fs.existsSync(file), `golden file ${file} is missing; run with UPDATE_GOLDEN=1 once and review it`).toBe(true);
  expect(text).toBe(fs.readFileSync(file, 'utf8'));
}

describe('buildQemuCommand (golden)', () => {
  it('direct kernel boot under tcg', () => {
    golden('kernel-tcg', buildQemuCommand(base, files('/h/vms/demo'), 'tcg', { arch: 'x64' }));
  });

  it('disk and ISO under kvm, with the default console argument absent (no kernel)', () => {
    const spec: VmSpec = {
      ...base,
      kernel: null,
      initrd: null,
      cmdline: null,
      iso: '/isos/debian.iso',
      disks: [
        { path: '/h/vms/demo/disk.qcow2', format: 'qcow2', owned: true, readonly: false },
        { path: '/data/extra.img', format: 'raw', owned: false, readonly: true },
      ],
    };
    golden('disk-iso-kvm', buildQemuCommand(spec, files('/h/vms/demo'), 'kvm', { arch: 'x64' }));
  });

  it('kernel boot with a disk: the disk gets a boot index after the kernel', () => {
    const spec: VmSpec = { ...base, disks: [{ path: '/h/vms/demo/disk.qcow2', format: 'qcow2', owned: true, readonly: false }] };
    golden('kernel-disk', buildQemuCommand(spec, files('/h/vms/demo'), 'tcg', { arch: 'x64' }));
  });

  it('virtio console with the default command line', () => {
    golden('virtio-console', buildQemuCommand({ ...base, cmdline: null, console: 'virtio' }, files('/h/vms/demo'), 'tcg', { arch: 'x64' }));
  });

  it('arm64 under hvf', () => {
    golden('arm64-hvf', buildQemuCommand({ ...base, cmdline: null }, files('/Users/u/.bento/vms/demo'), 'hvf', { arch: 'arm64' }));
  });
});

describe('buildQemuCommand (rules)', () => {
  it('names a format on every drive', () => {
    const spec: VmSpec = { ...base, iso: '/x.iso', disks: [{ path: '/d.raw', format: 'raw', owned: false, readonly: false }] };
    const drives = buildQemuCommand(spec, files('/h'), 'tcg', { arch: 'x64' }).args.filter((a) => a.startsWith('file='));
    expect(drives).toHaveLength(2);
    for (const d of drives) expect(d).toMatch(/,format=(raw|qcow2),/);
  });

  it('doubles commas in paths so a path cannot inject options', () => {
    const spec: VmSpec = { ...base, disks: [{ path: '/a,format=raw,file=/etc/shadow', format: 'qcow2', owned: false, readonly: false }] };
    const drive = buildQemuCommand(spec, files('/h,x'), 'tcg', { arch: 'x64' }).args.find((a) => a.startsWith('file='));
    expect(drive).toBe('file=/a,,format=raw,,file=/etc/shadow,format=qcow2,if=none,id=disk0,cache=writeback,discard=unmap');
    expect(qemuEscape('a,b')).toBe('a,,b');
  });

  it('keeps the MAC from the spec', () => {
    const args = buildQemuCommand(base, files('/h'), 'tcg', { arch: 'x64' }).args;
    expect(args).toContain('virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56,romfile=');
  });
});
