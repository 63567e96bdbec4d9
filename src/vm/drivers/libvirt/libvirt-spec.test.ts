import { describe, expect, it } from 'vitest';
import { BentoError } from '../../errors.js';
import type { VmSpec } from '../../types.js';
import { formatFromExtension, libvirtSpecFromRequest, specFromMetadata, specToMetadata } from './libvirt-spec.js';

const NOW = new Date('2026-02-03T04:05:06.000Z');

/** The field errors of a refused request, field -> message. */
function fieldsOf(body: unknown): Record<string, string> {
  try {
    libvirtSpecFromRequest(body, NOW);
  } catch (err) {
    expect(err).toBeInstanceOf(BentoError);
    const e = err as BentoError;
    expect(e.code).toBe('invalid-input');
    return Object.fromEntries((e.fields ?? []).map((f) => [f.field, f.message]));
  }
  throw new Error('expected a validation error');
}

describe('libvirtSpecFromRequest: good requests', () => {
  it('makes a kernel VM with defaults: backend libvirt, no image/seed/mounts/forwards, a MAC, createdAt now', () => {
    const spec = libvirtSpecFromRequest({ name: 'web-1', kernel: '/srv/vmlinuz', initrd: '/srv/initrd.img', cmdline: 'console=ttyS0' }, NOW);
    expect(spec).toEqual({
      name: 'web-1',
      backend: 'libvirt',
      cpus: 1,
      memoryMiB: 512,
      accel: 'auto',
      kernel: '/srv/vmlinuz',
      initrd: '/srv/initrd.img',
      cmdline: 'console=ttyS0',
      disks: [],
      iso: null,
      mac: spec.mac,
      console: 'serial',
      createdAt: '2026-02-03T04:05:06.000Z',
      image: null,
      firmware: 'bios',
      network: 'nat',
      publish: [],
      cloudInit: null,
      mounts: [],
    } satisfies VmSpec);
    expect(spec.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(libvirtSpecFromRequest({ name: 'web-1', kernel: '/k' }, NOW).mac).not.toBe(spec.mac);
  });

  it('takes every field a libvirt host honours', () => {
    const spec = libvirtSpecFromRequest(
      {
        name: 'db',
        backend: 'libvirt',
        cpus: 4,
        memory: '2G',
        accel: 'kvm',
        disk: '/var/lib/libvirt/images/db.disk',
        diskFormat: 'qcow2',
        iso: '/isos/debian.iso',
        console: 'virtio',
        firmware: 'uefi',
        network: 'none',
        cloudInit: 'none',
      },
      NOW,
    );
    expect(spec).toMatchObject({
      backend: 'libvirt',
      cpus: 4,
      memoryMiB: 2048,
      accel: 'kvm',
      disks: [{ path: '/var/lib/libvirt/images/db.disk', format: 'qcow2', owned: false, readonly: false }],
      iso: '/isos/debian.iso',
      console: 'virtio',
      firmware: 'uefi',
      network: 'none',
      cloudInit: null,
    });
  });

  it.each([
    ['/i/a.qcow2', 'qcow2'],
    ['/i/A.QCOW2', 'qcow2'],
    ['/i/a.raw', 'raw'],
    ['/i/a.img', 'raw'],
  ])('tells the format of %s from its extension (%s)', (disk, format) => {
    expect(libvirtSpecFromRequest({ name: 'd', disk }, NOW).disks).toEqual([{ path: disk, format, owned: false, readonly: false }]);
  });

  it('prefers diskFormat over the extension', () => {
    expect(libvirtSpecFromRequest({ name: 'd', disk: '/i/a.qcow2', diskFormat: 'raw' }, NOW).disks[0]?.format).toBe('raw');
  });

  it("accepts cloudInit auto (the default: no image, so no seed) and tcg; an iso alone boots", () => {
    expect(libvirtSpecFromRequest({ name: 'c', iso: '/x.iso', cloudInit: 'auto', accel: 'tcg' }, NOW)).toMatchObject({ cloudInit: null, accel: 'tcg', disks: [] });
  });

  it('takes memory as MiB numbers too', () => {
    expect(libvirtSpecFromRequest({ name: 'm', kernel: '/k', memory: 256 }, NOW).memoryMiB).toBe(256);
  });

  it('keeps XML specials in paths and the command line as they are (domain-xml escapes them)', () => {
    const spec = libvirtSpecFromRequest({ name: 'x', kernel: `/a&b/<k>"'`, cmdline: `x="a&b<c>'d'"` }, NOW);
    expect(spec.kernel).toBe(`/a&b/<k>"'`);
    expect(spec.cmdline).toBe(`x="a&b<c>'d'"`);
  });
});

describe('libvirtSpecFromRequest: refusals name the field and the rule', () => {
  const ok = { name: 'vm', kernel: '/k' };

  it.each([
    [{ diskSize: '8G' }, 'diskSize', /give --disk PATH of an image on that host/],
    [{ diskSize: 'nonsense' }, 'diskSize', /give --disk PATH/],
    [{ image: 'debian-12' }, 'image', /not available on libvirt hosts.*--disk PATH/],
    [{ publish: ['8080:80'] }, 'publish', /not available on libvirt hosts/],
    [{ mount: ['/srv'] }, 'mount', /not available on libvirt hosts/],
    [{ user: 'alice' }, 'user', /a seed needs an image/],
    [{ userData: '#cloud-config\n' }, 'userData', /a seed needs an image/],
    [{ cloudInit: 'yes' }, 'cloudInit', /must be none or auto on libvirt hosts \(a cloud-init seed needs an image\)/],
    [{ network: 'restricted' }, 'network', /no restricted mode\): use none or nat/],
    [{ network: 'bridge' }, 'network', /must be nat, restricted or none/],
    [{ backend: 'qemu' }, 'backend', /must be libvirt on a libvirt host \(got "qemu"\)/],
    [{ backend: 'vz' }, 'backend', /must be libvirt/],
    [{ backend: 3 }, 'backend', /must be libvirt/],
    [{ accel: 'hvf' }, 'accel', /auto, kvm or tcg on libvirt hosts/],
    [{ accel: 'xen' }, 'accel', /must be auto, kvm, hvf or tcg/],
    [{ console: 'vga' }, 'console', /must be serial or virtio/],
    [{ kernel: 'vmlinuz' }, 'kernel', /absolute path on the libvirt host \(got "vmlinuz"\)/],
    [{ initrd: './initrd' }, 'initrd', /absolute path/],
    [{ disk: 'disk.qcow2' }, 'disk', /absolute path/],
    [{ iso: 'x.iso' }, 'iso', /absolute path/],
    [{ kernel: '/k\n/evil' }, 'kernel', /without control characters/],
    [{ cmdline: 'a\u0001b' }, 'cmdline', /no control characters/],
    [{ cmdline: 'x'.repeat(2048) }, 'cmdline', /at most 2047 bytes/],
    [{ disk: '/i/disk.vmdk' }, 'diskFormat', /does not tell qcow2 from raw.*give diskFormat qcow2 or raw/],
    [{ disk: '/i/disk' }, 'diskFormat', /give diskFormat/],
    [{ diskFormat: 'vmdk', disk: '/i/a.img' }, 'diskFormat', /must be qcow2 or raw/],
    [{ cpus: 0 }, 'cpus', /from 1 to 1024/],
    [{ cpus: 1025 }, 'cpus', /from 1 to 1024/],
    [{ cpus: 1.5 }, 'cpus', /whole number/],
    [{ memory: '32M' }, 'memory', /from 64M to 16T/],
    [{ memory: '17T' }, 'memory', /from 64M to 16T/],
    [{ memory: 'lots' }, 'memory', /512M/],
    [{ firmware: 'coreboot' }, 'firmware', /bios or uefi/],
    [{ colour: 'red' }, 'colour', /is not a known field/],
  ])('%j is refused on %s', (extra, field, msg) => {
    const f = fieldsOf({ ...ok, ...extra });
    expect(f[field], JSON.stringify(f)).toMatch(msg);
  });

  it.each([
    [{ name: 'a/b', kernel: '/k' }, 'name'],
    [{ name: '', kernel: '/k' }, 'name'],
    [{ name: 'x'.repeat(64), kernel: '/k' }, 'name'],
    [{ kernel: '/k' }, 'name'],
    [{ name: 'vm', initrd: '/i', disk: '/d.img' }, 'initrd'],
    [{ name: 'vm', cmdline: 'quiet', disk: '/d.img' }, 'cmdline'],
    [{ name: 'vm', diskFormat: 'raw', kernel: '/k' }, 'diskFormat'],
    [{ name: 'vm' }, 'kernel'],
  ])('%j is refused on %s', (body, field) => {
    expect(Object.keys(fieldsOf(body))).toEqual([field]);
  });

  it('reports every problem at once, one error per field', () => {
    const f = fieldsOf({ name: 'vm', kernel: 'rel', diskSize: '8G', image: 'x', network: 'restricted', cpus: 0, backend: 'qemu' });
    expect(Object.keys(f).sort()).toEqual(['backend', 'cpus', 'diskSize', 'image', 'kernel', 'network']);
  });

  it('summarises the fields in the message', () => {
    expect(() => libvirtSpecFromRequest({ name: 'vm', kernel: '/k', diskSize: '8G' }, NOW)).toThrow(/invalid VM definition: diskSize is not available on libvirt hosts/);
  });

  it.each([null, [1], 'vm', 3])('refuses a body that is not an object: %j', (body) => {
    expect(fieldsOf(body)).toEqual({ '(body)': 'must be a JSON object' });
  });

  it('ignores fields given as undefined (absent in JSON)', () => {
    expect(libvirtSpecFromRequest({ name: 'vm', kernel: '/k', diskSize: undefined, image: undefined }, NOW).name).toBe('vm');
  });
});

describe('formatFromExtension', () => {
  it('knows qcow2, raw and img only', () => {
    expect(formatFromExtension('/a/b.qcow2')).toBe('qcow2');
    expect(formatFromExtension('/a/b.img')).toBe('raw');
    expect(formatFromExtension('/a.qcow2/b')).toBeNull();
    expect(formatFromExtension('/a/b.iso')).toBeNull();
  });
});

describe('metadata', () => {
  const spec = libvirtSpecFromRequest(
    { name: 'meta', kernel: `/k&<>"'/\u00e9\u{1F600}`, cmdline: `console=ttyS0 x="a&b<c>'d'" ]]>`, disk: '/d &amp; x.qcow2' },
    NOW,
  );
  const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

  it('writes a versioned JSON document', () => {
    expect(JSON.parse(specToMetadata(spec))).toEqual({ version: 1, spec });
  });

  it('reads back what virDomainGetMetadata returns (no prefix), with specials', () => {
    expect(specFromMetadata(`<vm>${escape(specToMetadata(spec))}</vm>`)).toEqual(spec);
  });

  it('reads the element with its prefix and namespace, as the domain XML holds it', () => {
    expect(specFromMetadata(`<bento:vm xmlns:bento="urn:bento:vm:1">${escape(specToMetadata(spec))}</bento:vm>`)).toEqual(spec);
  });

  it('reads numeric character references, &quot;/&apos;, CDATA and the bare JSON text', () => {
    const json = specToMetadata(spec);
    const refs = json.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/e/g, '&#x65;');
    expect(specFromMetadata(`<vm>${refs}</vm>`)).toEqual(spec);
    expect(specFromMetadata(`<vm>${json.replace(/"/g, '&quot;').replace(/&(?!quot;)/g, '&amp;').replace(/</g, '&lt;')}</vm>`)).toEqual(spec);
    const cdata = json.replace(/]]>/g, ']]]]><![CDATA[>');
    expect(specFromMetadata(`<vm><![CDATA[${cdata}]]></vm>`)).toEqual(spec);
    expect(specFromMetadata(json)).toEqual(spec);
    expect(specFromMetadata(`  <vm>${escape(json)}</vm>\n`)).toEqual(spec);
  });

  it.each([
    ['null', null],
    ['empty', ''],
    ['an empty element', '<vm/>'],
    ['an element with no text', '<vm></vm>'],
    ['mismatched tags', `<vm>{}</vx>`],
    ['not JSON', '<vm>hello</vm>'],
    ['a bare &', `<vm>{"version":1,"spec":{"name":"a&b"}}</vm>`],
    ['an unknown entity', '<vm>&nbsp;</vm>'],
    ['a markup child', '<vm><x/></vm>'],
    ['another version', `<vm>${JSON.stringify({ version: 2, spec })}</vm>`],
    ['no version', `<vm>${JSON.stringify({ spec })}</vm>`],
    ['a spec of another backend', `<vm>${JSON.stringify({ version: 1, spec: { ...spec, backend: 'qemu' } })}</vm>`],
    ['a spec missing a field', `<vm>${JSON.stringify({ version: 1, spec: { ...spec, disks: undefined } })}</vm>`],
    ['a spec with a wrong type', `<vm>${JSON.stringify({ version: 1, spec: { ...spec, cpus: 'two' } })}</vm>`],
    ['JSON that is not an object', '<vm>[1,2]</vm>'],
    ['an out-of-range reference', '<vm>&#x110000;</vm>'],
  ])('is null for %s, never an exception', (_, text) => {
    expect(specFromMetadata(text)).toBeNull();
  });

  it('drops keys it does not know (a newer bento may add some) and keeps the rest', () => {
    const doc = JSON.stringify({ version: 1, spec: { ...spec, future: 1 }, extra: true });
    expect(specFromMetadata(`<vm>${escape(doc)}</vm>`)).toEqual(spec);
  });
});
