import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { VmSpec } from '../../types.js';
import { buildQemuCommand, hostfwdRule, qemuEscape, userNetdev, type QemuFiles } from './argv.js';

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
  image: null, firmware: 'bios', network: 'nat', publish: [], cloudInit: null, mounts: [],
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

  it('restore from a saved state: the same command line, waiting for the stream (-incoming defer, last)', () => {
    const restore = buildQemuCommand(base, files('/h/vms/demo'), 'tcg', { arch: 'x64' }, { incoming: true });
    golden('kernel-tcg-incoming', restore);
    // The devices must match the boot that was saved exactly: only the two trailing arguments differ.
    const boot = buildQemuCommand(base, files('/h/vms/demo'), 'tcg', { arch: 'x64' });
    expect(restore.args.slice(0, -2)).toEqual(boot.args);
    expect(restore.args.slice(-2)).toEqual(['-incoming', 'defer']);
  });

  it('arm64 under hvf', () => {
    golden('arm64-hvf', buildQemuCommand({ ...base, cmdline: null }, files('/Users/u/.bento/vms/demo'), 'hvf', { arch: 'arm64' }));
  });
});

/** A VM made from a cloud image: its overlay disk, a seed, no kernel. */
const imageVm: VmSpec = {
  ...base,
  name: 'web',
  memoryMiB: 1024,
  kernel: null,
  initrd: null,
  cmdline: null,
  disks: [{ path: '/h/vms/web/disk.qcow2', format: 'qcow2', owned: true, readonly: false }],
  image: { ref: 'debian-12', sha256: 'ab'.repeat(32), path: '/h/images/abab.qcow2', format: 'qcow2' },
  network: 'restricted',
  publish: [
    { hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80, protocol: 'tcp' },
    { hostIp: '0.0.0.0', hostPort: 5353, guestPort: 53, protocol: 'udp' },
  ],
  cloudInit: { user: 'alice', instanceId: 'bento-0011223344556677' },
};

describe('buildQemuCommand for image VMs (golden)', () => {
  it('overlay disk, seed, restricted network with the SSH port and two forwards', () => {
    golden('image-restricted', buildQemuCommand(imageVm, files('/h/vms/web'), 'tcg', { arch: 'x64' }, { sshPort: 40022, seed: '/h/vms/web/cidata.iso' }));
  });

  it('UEFI: firmware code read-only and the VM\'s own variables as pflash', () => {
    golden(
      'image-uefi',
      buildQemuCommand({ ...imageVm, firmware: 'uefi', network: 'nat', publish: [] }, files('/h/vms/web'), 'kvm', { arch: 'x64' }, {
        sshPort: 40022,
        seed: '/h/vms/web/cidata.iso',
        uefi: { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/h/vms/web/efi-vars.fd' },
      }),
    );
  });

  it('network none: no netdev, no NIC', () => {
    golden('image-network-none', buildQemuCommand({ ...imageVm, network: 'none', publish: [] }, files('/h/vms/web'), 'tcg', { arch: 'x64' }, { sshPort: null, seed: '/h/vms/web/cidata.iso' }));
  });

  it('arm64: UEFI, the seed on virtio-blk', () => {
    golden(
      'image-arm64',
      buildQemuCommand(
        { ...imageVm, firmware: 'uefi', network: 'nat', publish: [], disks: [{ ...imageVm.disks[0]!, path: '/Users/u/.bento/vms/web/disk.qcow2' }] },
        files('/Users/u/.bento/vms/web'),
        'hvf',
        { arch: 'arm64' },
        {
          sshPort: 40022,
          seed: '/Users/u/.bento/vms/web/cidata.iso',
          uefi: { code: '/opt/homebrew/share/qemu/edk2-aarch64-code.fd', vars: '/Users/u/.bento/vms/web/efi-vars.fd' },
        },
      ),
    );
  });
});

describe('buildQemuCommand for image VMs (rules)', () => {
  const argsOf = (spec: VmSpec, run: Parameters<typeof buildQemuCommand>[4], arch: 'x64' | 'arm64' = 'x64'): string[] =>
    buildQemuCommand(spec, files('/h'), 'tcg', { arch }, run).args;

  it('the seed is a read-only raw cdrom without a boot index; the overlay disk boots', () => {
    const args = argsOf(imageVm, { seed: '/h/cidata.iso', sshPort: 1 });
    expect(args).toContain('file=/h/cidata.iso,format=raw,if=none,id=seed0,media=cdrom,readonly=on');
    // virtio-scsi, not ide-cd: cloud kernels have no AHCI driver for q35's controller.
    expect(args).toContain('virtio-blk-pci,drive=disk0,bootindex=0');
    expect(args.filter((a) => a.includes('drive=seed0'))).toEqual(['scsi-cd,drive=seed0,bus=seedscsi.0']);
    expect(args).toContain('virtio-scsi-pci,id=seedscsi');
    expect(argsOf({ ...imageVm, cloudInit: null }, { seed: null }).join(' ')).not.toContain('seed0');
  });

  it('forwards the SSH port on loopback only, then each published port', () => {
    const args = argsOf(imageVm, { sshPort: 40022 });
    const netdev = args[args.indexOf('-netdev') + 1];
    expect(netdev).toBe('user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:0.0.0.0:5353-:53');
    expect(userNetdev({ network: 'nat', publish: [] }, null)).toBe('user,id=net0');
    expect(hostfwdRule({ protocol: 'udp', hostIp: '10.0.0.1', hostPort: 1, guestPort: 65535 })).toBe('udp:10.0.0.1:1-:65535');
  });

  it('network none has no -netdev and no NIC at all, even with forwards or an SSH port given', () => {
    const args = argsOf({ ...imageVm, network: 'none' }, { sshPort: 40022, seed: '/h/cidata.iso' });
    expect(args).not.toContain('-netdev');
    expect(args.some((a) => a.includes('virtio-net') || a.includes('hostfwd'))).toBe(false);
  });

  it('UEFI pflash comes only with run.uefi, code read-only and first', () => {
    const args = argsOf(imageVm, { uefi: { code: '/fw/code.fd', vars: '/h/efi-vars.fd' } });
    const drives = args.filter((a) => a.startsWith('if=pflash'));
    expect(drives).toEqual(['if=pflash,format=raw,unit=0,readonly=on,file=/fw/code.fd', 'if=pflash,format=raw,unit=1,file=/h/efi-vars.fd']);
    expect(argsOf(imageVm, {}).some((a) => a.includes('pflash'))).toBe(false);
  });

  it('arm64 puts the seed on virtio-scsi too (virt has no IDE)', () => {
    const args = argsOf(imageVm, { seed: '/h/cidata.iso' }, 'arm64');
    expect(args).toContain('scsi-cd,drive=seed0,bus=seedscsi.0');
    expect(args.some((a) => a.startsWith('ide-cd'))).toBe(false);
  });

  it('doubles commas in the seed and pflash paths', () => {
    const args = argsOf(imageVm, { seed: '/h,x/cidata.iso', uefi: { code: '/fw,a/code.fd', vars: '/h,x/vars.fd,file=/etc/passwd' } });
    expect(args).toContain('file=/h,,x/cidata.iso,format=raw,if=none,id=seed0,media=cdrom,readonly=on');
    expect(args).toContain('if=pflash,format=raw,unit=0,readonly=on,file=/fw,,a/code.fd');
    expect(args).toContain('if=pflash,format=raw,unit=1,file=/h,,x/vars.fd,,file=/etc/passwd');
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

describe('buildQemuCommand with shared folders (golden)', () => {
  const mounts: VmSpec['mounts'] = [
    { source: '/home/u/src', target: '/mnt/src', readonly: false, tag: 'bento0', type: 'virtiofs' },
    { source: '/data,set', target: '/srv/data', readonly: true, tag: 'bento1', type: '9p' },
  ];

  it('9p only: QEMU serves the folders itself, read-only enforced by readonly=on; guest RAM is not shared', () => {
    const spec: VmSpec = { ...base, mounts: [{ ...mounts[1]!, tag: 'bento0' }, { source: '/home/u/src', target: '/mnt/src', readonly: false, tag: 'bento1', type: '9p' }] };
    const cmd = buildQemuCommand(spec, files('/h/vms/demo'), 'tcg', { arch: 'x64' });
    golden('mounts-9p', cmd);
    expect(cmd.args).toContain('q35');
    expect(cmd.args.join(' ')).not.toContain('memory-backend');
  });

  it('virtio-fs beside 9p: a shared memfd backs guest RAM and each virtio-fs share connects to its virtiofsd socket', () => {
    const cmd = buildQemuCommand({ ...base, mounts }, files('/h/vms/demo'), 'tcg', { arch: 'x64' }, { fsSockets: { 0: '/h/vms/demo/fs-0.sock' } });
    golden('mounts-virtiofs', cmd);
    expect(cmd.args).toContain('q35,memory-backend=mem');
    expect(cmd.args).toContain('memory-backend-memfd,id=mem,size=512M,share=on');
  });

  it('refuses a virtio-fs share without its socket', () => {
    expect(() => buildQemuCommand({ ...base, mounts }, files('/h/vms/demo'), 'tcg', { arch: 'x64' })).toThrow(/mounts\[0\] is virtio-fs but no virtiofsd socket/);
  });
});
