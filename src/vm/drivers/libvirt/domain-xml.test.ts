import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BentoError } from '../../errors.js';
import type { VmSpec } from '../../types.js';
import { BENTO_XMLNS } from './constants.js';
import {
  accelOfXml,
  buildDomainXml,
  diskTarget,
  domainTypeFor,
  escapeXmlAttr,
  escapeXmlText,
  hostArchOf,
  offeredDomainTypes,
  type DomainXmlOptions,
} from './domain-xml.js';
import { libvirtSpecFromRequest, specFromMetadata } from './libvirt-spec.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../test/fixtures/libvirt');
const caps = (name: string): string => fs.readFileSync(path.join(FIXTURES, 'caps', `${name}.xml`), 'utf8');

/** Runs a libvirt/libxml2 tool; a missing tool fails the test with what to install. */
function run(tool: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tool, args, { encoding: 'utf8', timeout: 15_000 });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${tool} is missing: install libvirt-clients and libxml2-utils (scripts/setup.sh) to check the domain XML`);
  }
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One argument in virsh's own command syntax (single-quoted, a quote written as '\''). */
const virshQuote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

const base: VmSpec = {
  name: 'demo',
  backend: 'libvirt',
  cpus: 2,
  memoryMiB: 512,
  accel: 'auto',
  kernel: null,
  initrd: null,
  cmdline: null,
  disks: [],
  iso: null,
  mac: '52:54:00:12:34:56',
  console: 'serial',
  createdAt: '2026-01-01T00:00:00.000Z',
  image: null,
  firmware: 'bios',
  network: 'nat',
  publish: [],
  cloudInit: null,
  mounts: [],
};

/** The golden cases: file name, spec, options. */
const CASES: [string, VmSpec, DomainXmlOptions][] = [
  // The test guest's shape: direct kernel boot, no disk, no NIC, TCG.
  [
    'kernel-tcg',
    { ...base, accel: 'tcg', kernel: '/guest/vmlinuz', initrd: '/guest/initrd.img', cmdline: 'console=ttyS0 quiet', network: 'none', memoryMiB: 256, cpus: 1 },
    { domainType: 'qemu' },
  ],
  [
    'disk-iso-nat',
    { ...base, disks: [{ path: '/var/lib/libvirt/images/demo.qcow2', format: 'qcow2', owned: false, readonly: false }], iso: '/isos/debian-12.iso' },
    { domainType: 'qemu' },
  ],
  [
    'uefi-kvm-virtio',
    {
      ...base,
      name: 'web',
      accel: 'kvm',
      memoryMiB: 2048,
      firmware: 'uefi',
      console: 'virtio',
      network: 'none',
      disks: [
        { path: '/srv/vms/web.qcow2', format: 'qcow2', owned: false, readonly: false },
        { path: '/srv/data/base.raw', format: 'raw', owned: false, readonly: true },
      ],
    },
    { domainType: 'kvm' },
  ],
  [
    'xml-specials',
    {
      ...base,
      name: `a&b<c>"d'e`,
      kernel: `/guests/&<>"'/vmlinuz`,
      initrd: `/guests/it's "here" & <there>.img`,
      cmdline: `console=ttyS0 x="a&b<c>'d'" y=]]> \u00e9`,
      disks: [{ path: `/d/&amp;<"x">'.qcow2`, format: 'qcow2', owned: false, readonly: false }],
      iso: `/i/a&b.iso`,
    },
    { domainType: 'qemu' },
  ],
  // aarch64 TCG: virt, -cpu max, no ACPI without UEFI, the CD on virtio-scsi, the default ttyAMA0 console.
  ['aarch64-tcg', { ...base, kernel: '/guest/Image', iso: '/isos/arm.iso', network: 'none' }, { domainType: 'qemu', arch: 'aarch64' }],
];

/** Compares with test/fixtures/libvirt/NAME.xml; UPDATE_GOLDEN=1 rewrites it. */
function golden(name: string, xml: string): string {
  const file = path.join(FIXTURES, `${name}.xml`);
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(file, xml);
  expect(fs.existsSync(file), `golden file ${file} is missing; run with UPDATE_GOLDEN=1 once and review it`).toBe(true);
  expect(xml).toBe(fs.readFileSync(file, 'utf8'));
  return file;
}

describe('buildDomainXml (golden)', () => {
  it.each(CASES)('%s matches its golden file', (name, spec, opts) => {
    golden(name, buildDomainXml(spec, opts));
  });

  it.each(CASES)('%s validates against libvirt 9.0 domain schema (virt-xml-validate)', (name) => {
    const file = path.join(FIXTURES, `${name}.xml`);
    const r = run('virt-xml-validate', [file, 'domain']);
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it.each(CASES)("%s is defined by libvirt's test driver, name intact, and its metadata reads back as the spec", (name, spec) => {
    const file = path.join(FIXTURES, `${name}.xml`);
    // One virsh process: the test:///default driver lives in it, so the define is seen by the next command.
    const r = run('virsh', ['-c', 'test:///default', `define --validate ${virshQuote(file)}; metadata --domain ${virshQuote(spec.name)} --uri ${BENTO_XMLNS}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Domain '${spec.name}' defined from ${file}`);
    const metadata = r.stdout.slice(r.stdout.indexOf('<vm>'));
    expect(specFromMetadata(metadata)).toEqual(spec);
  });

  it('escapes so that an XML parser reads back every special exactly (xmllint)', () => {
    const [, spec] = CASES.find(([n]) => n === 'xml-specials') ?? [];
    const file = path.join(FIXTURES, 'xml-specials.xml');
    const read = (xpath: string): string => {
      const r = run('xmllint', ['--xpath', `string(${xpath})`, file]);
      expect(r.status, r.stderr).toBe(0);
      // xmllint ends its answer with a newline of its own.
      return r.stdout.replace(/\n$/, '');
    };
    expect(read('/domain/name')).toBe(spec?.name);
    expect(read('/domain/os/kernel')).toBe(spec?.kernel);
    expect(read('/domain/os/initrd')).toBe(spec?.initrd);
    expect(read('/domain/os/cmdline')).toBe(spec?.cmdline);
    expect(read("/domain/devices/disk[@device='disk']/source/@file")).toBe(spec?.disks[0]?.path);
    expect(read("/domain/devices/disk[@device='cdrom']/source/@file")).toBe(spec?.iso);
  });
});

describe('buildDomainXml (rules)', () => {
  const xml = (spec: Partial<VmSpec>, opts: DomainXmlOptions = { domainType: 'qemu' }): string => buildDomainXml({ ...base, kernel: '/k', ...spec }, opts);

  it('has no NIC with network none, and a user NIC with the MAC with nat', () => {
    expect(xml({ network: 'none' })).not.toContain('<interface');
    expect(xml({ network: 'nat' })).toMatch(/<interface type='user'>\s*<mac address='52:54:00:12:34:56'\/>\s*<model type='virtio'\/>/);
  });

  it('passes the host CPU through with kvm only', () => {
    expect(xml({}, { domainType: 'kvm' })).toContain("<cpu mode='host-passthrough'/>");
    expect(xml({}, { domainType: 'qemu' })).not.toContain('<cpu');
    expect(xml({}, { domainType: 'kvm' })).toMatch(/^<domain type='kvm'>/);
  });

  it('names every disk format explicitly and marks read-only disks', () => {
    const out = xml({
      disks: [
        { path: '/a.raw', format: 'raw', owned: false, readonly: true },
        { path: '/b.qcow2', format: 'qcow2', owned: false, readonly: false },
      ],
    });
    expect(out).toMatch(/<driver name='qemu' type='raw'[^>]*\/>\s*<source file='\/a.raw'\/>\s*<target dev='vda' bus='virtio'\/>\s*<readonly\/>/);
    expect(out).toMatch(/<driver name='qemu' type='qcow2'[^>]*\/>\s*<source file='\/b.qcow2'\/>\s*<target dev='vdb' bus='virtio'\/>\s*<\/disk>/);
  });

  it('boots the CD before the disk when an iso is set, and has no graphics', () => {
    const out = xml({ kernel: null, iso: '/x.iso', disks: [{ path: '/a.img', format: 'raw', owned: false, readonly: false }] });
    expect(out).toMatch(/<boot dev='cdrom'\/>\s*<boot dev='hd'\/>/);
    expect(out).not.toContain('<graphics');
    expect(out).toMatch(/<video>\s*<model type='none'\/>\s*<\/video>/);
  });

  it('gives a kernel without a command line the console argument local VMs get', () => {
    expect(xml({ cmdline: null })).toContain('<cmdline>console=ttyS0</cmdline>');
    expect(xml({ cmdline: null, console: 'virtio' })).toContain('<cmdline>console=hvc0</cmdline>');
    expect(xml({ cmdline: null }, { domainType: 'qemu', arch: 'aarch64' })).toContain('<cmdline>console=ttyAMA0</cmdline>');
  });

  it('has a serial console, or only a virtio one', () => {
    expect(xml({ console: 'serial' })).toMatch(/<serial type='pty'>[\s\S]*<console type='pty'>\s*<target type='serial' port='0'\/>/);
    const v = xml({ console: 'virtio' });
    expect(v).not.toContain('<serial');
    expect(v).toMatch(/<console type='pty'>\s*<target type='virtio' port='0'\/>/);
  });

  it('uses UEFI through firmware autoselection', () => {
    expect(xml({ firmware: 'uefi' })).toContain("<os firmware='efi'>");
    expect(xml({ firmware: 'bios' })).toContain('<os>');
  });

  it('refuses a value XML cannot hold, as invalid input', () => {
    expect(() => xml({ kernel: '/k\u0001' })).toThrow(BentoError);
    expect(() => xml({ kernel: '/k\u0001' })).toThrow(/U\+0001/);
    expect(() => xml({ name: 'a\ud800' })).toThrow(/U\+D800/);
  });

  it('builds valid XML for a spec libvirtSpecFromRequest made', () => {
    const spec = libvirtSpecFromRequest({ name: 'from-request', disk: '/var/lib/libvirt/images/x.qcow2', iso: '/x.iso', console: 'virtio', firmware: 'uefi' });
    const file = path.join(fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'bento-domxml-')), 'd.xml');
    try {
      fs.writeFileSync(file, buildDomainXml(spec, { domainType: 'kvm' }));
      const r = run('virt-xml-validate', [file, 'domain']);
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});

describe('escapeXmlText / escapeXmlAttr', () => {
  it('escapes the specials', () => {
    expect(escapeXmlText(`a&b<c>"d'e\r`)).toBe(`a&amp;b&lt;c&gt;"d'e&#13;`);
    expect(escapeXmlAttr(`a&b<c>"d'e\t\n\r`)).toBe('a&amp;b&lt;c&gt;&quot;d&apos;e&#9;&#10;&#13;');
  });

  it('keeps characters XML holds, emoji included', () => {
    expect(escapeXmlText('é \u{1F600} \ud7ff \ue000')).toBe('é \u{1F600} \ud7ff \ue000');
  });

  it.each(['\u0000', '\u0008', '\u001f', '\ud800', '\udfff', '\ufffe', '\uffff'])('refuses %j', (c) => {
    expect(() => escapeXmlText(`x${c}`)).toThrow(BentoError);
    expect(() => escapeXmlAttr(`x${c}`)).toThrow(BentoError);
  });
});

describe('diskTarget', () => {
  it.each([
    [0, 'vda'],
    [1, 'vdb'],
    [25, 'vdz'],
    [26, 'vdaa'],
    [27, 'vdab'],
    [701, 'vdzz'],
    [702, 'vdaaa'],
  ])('disk %i is %s', (i, name) => {
    expect(diskTarget(i)).toBe(name);
  });
});

describe('capabilities', () => {
  it.each([
    ['test-driver', null],
    ['x86_64-kvm', 'x86_64'],
    ['x86_64-tcg-only', 'x86_64'],
    ['aarch64-kvm', 'aarch64'],
  ])("hostArchOf(%s) is %s", (name, arch) => {
    expect(hostArchOf(caps(name))).toBe(arch);
  });

  it('lists the domain types per arch, either quote style, with or without children', () => {
    expect([...offeredDomainTypes(caps('x86_64-kvm'), 'x86_64')].sort()).toEqual(['kvm', 'qemu']);
    expect([...offeredDomainTypes(caps('x86_64-kvm'), 'i686')].sort()).toEqual(['kvm', 'qemu']);
    expect([...offeredDomainTypes(caps('x86_64-tcg-only'), 'x86_64')]).toEqual(['qemu']);
    expect([...offeredDomainTypes(caps('aarch64-kvm'), 'aarch64')].sort()).toEqual(['kvm', 'qemu']);
    expect([...offeredDomainTypes(caps('test-driver'), null)]).toEqual(['test']);
  });

  it.each([
    ['x86_64-kvm', 'auto', 'kvm'],
    ['x86_64-kvm', 'kvm', 'kvm'],
    ['x86_64-kvm', 'tcg', 'qemu'],
    // kvm is listed for i686 only: an x86_64 guest gets TCG.
    ['x86_64-tcg-only', 'auto', 'qemu'],
    ['x86_64-tcg-only', 'tcg', 'qemu'],
    ['aarch64-kvm', 'auto', 'kvm'],
    // This machine's own libvirtd: kvm offered (/dev/kvm opens) but the CPU shows no vmx/svm, and a kvm
    // guest fails at once ("failed to set MSR"): auto is TCG, as for local VMs; kvm when asked for.
    ['x86_64-kvm-no-vmx', 'auto', 'qemu'],
    ['x86_64-kvm-no-vmx', 'kvm', 'kvm'],
    ['test-driver', 'auto', 'qemu'],
    ['test-driver', 'tcg', 'qemu'],
  ] as const)('domainTypeFor on %s with accel %s is %s', (name, accel, type) => {
    expect(domainTypeFor({ ...base, accel }, caps(name))).toBe(type);
  });

  it('refuses accel kvm where the host offers none, naming the VM and what to use', () => {
    expect(() => domainTypeFor({ ...base, accel: 'kvm' }, caps('x86_64-tcg-only'))).toThrow(
      expect.objectContaining({ code: 'unsupported', message: expect.stringMatching(/^demo: accel kvm is not available.*x86_64.*use accel auto or tcg/) }),
    );
    expect(() => domainTypeFor({ ...base, accel: 'kvm' }, caps('test-driver'))).toThrow(BentoError);
  });

  it('refuses accel hvf', () => {
    expect(() => domainTypeFor({ ...base, accel: 'hvf' }, caps('x86_64-kvm'))).toThrow(expect.objectContaining({ code: 'unsupported', message: expect.stringMatching(/hvf.*auto, kvm or tcg/) }));
  });

  it('reads no kvm out of an empty or broken capabilities document', () => {
    expect(domainTypeFor({ ...base, accel: 'auto' }, '')).toBe('qemu');
    expect(domainTypeFor({ ...base, accel: 'auto' }, '<capabilities><guest><os_type>hvm')).toBe('qemu');
  });
});

describe('accelOfXml', () => {
  it.each([
    ["<domain type='kvm'>", 'kvm'],
    ['<domain type="kvm" id="3">', 'kvm'],
    ["<domain id='3' type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>", 'kvm'],
    ["<?xml version='1.0'?>\n<domain type='kvm'>", 'kvm'],
    ["<domain type='qemu'>", 'tcg'],
    ["<domain type='test'>", 'tcg'],
    ['<domainsnapshot type="kvm">', 'tcg'],
    ['', 'tcg'],
  ])('%s -> %s', (xml, accel) => {
    expect(accelOfXml(xml)).toBe(accel);
  });

  it('reads the golden files', () => {
    expect(accelOfXml(fs.readFileSync(path.join(FIXTURES, 'uefi-kvm-virtio.xml'), 'utf8'))).toBe('kvm');
    expect(accelOfXml(fs.readFileSync(path.join(FIXTURES, 'kernel-tcg.xml'), 'utf8'))).toBe('tcg');
  });
});
