import { describe, expect, it } from 'vitest';
import { BentoError } from './errors.js';
import { MAX_SOCKET_PATH, VM_SOCKET_NAMES, maxNameLengthFor } from './paths.js';
import { applyPatch, defaultGuestUser, validateCreate, type HostFacts, type ResolvedImage } from './spec.js';

const host: HostFacts = {
  cpus: 4,
  memoryMiB: 8192,
  stat: (p) => (p.startsWith('/ok/') ? 'file' : p.startsWith('/dir/') ? 'other' : 'missing'),
};
const detect = (): 'qcow2' => 'qcow2';

function fieldsOf(body: unknown): Record<string, string> {
  try {
    validateCreate(body, host, detect);
  } catch (err) {
    expect(err).toBeInstanceOf(BentoError);
    const e = err as BentoError;
    expect(e.code).toBe('invalid-input');
    return Object.fromEntries((e.fields ?? []).map((f) => [f.field, f.message]));
  }
  throw new Error('expected a validation error');
}

describe('validateCreate', () => {
  it('refuses backend libvirt for a local VM, saying such VMs are named HOST/NAME', () => {
    expect(fieldsOf({ name: 'a', kernel: '/ok/vmlinuz', backend: 'libvirt' }).backend).toMatch(/libvirt hosts: name the VM HOST\/NAME/);
    expect(fieldsOf({ name: 'a', kernel: '/ok/vmlinuz', backend: 'xen' }).backend).toBe('must be qemu or vz');
  });

  it('accepts a minimal kernel VM and fills defaults', () => {
    const { spec, newDiskMiB } = validateCreate({ name: 'web-1', kernel: '/ok/vmlinuz' }, host, detect);
    expect(spec).toMatchObject({ name: 'web-1', cpus: 1, memoryMiB: 512, accel: 'auto', backend: 'qemu', console: 'serial', disks: [] });
    expect(spec.mac).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
    expect(newDiskMiB).toBeNull();
  });

  it.each([
    ['../x', 'name'],
    ['a/b', 'name'],
    ['', 'name'],
    ['a'.repeat(64), 'name'],
    ['.hidden', 'name'],
    ['a..b', 'name'],
    ['-a', 'name'],
  ])('rejects the name %j', (name, field) => {
    expect(Object.keys(fieldsOf({ name, kernel: '/ok/k' }))).toEqual([field]);
  });

  it('accepts a 63-character name', () => {
    expect(validateCreate({ name: 'a'.repeat(63), kernel: '/ok/k' }, host, detect).spec.name).toHaveLength(63);
  });

  it.each([
    [{ memory: '0' }, 'memory', /from 64M/],
    [{ memory: 0 }, 'memory', /from 64M/],
    [{ memory: '1.5.G' }, 'memory', /512M/],
    [{ memory: '9G' }, 'memory', /host's RAM/],
    [{ cpus: 0 }, 'cpus', /from 1 to 4/],
    [{ cpus: 5 }, 'cpus', /from 1 to 4/],
    [{ cpus: 1.5 }, 'cpus', /whole number/],
    [{ kernel: '/nope/vmlinuz' }, 'kernel', /does not exist/],
    [{ kernel: 'relative/vmlinuz' }, 'kernel', /absolute/],
    [{ kernel: '/dir/x' }, 'kernel', /regular file/],
    [{ accel: 'xen' }, 'accel', /auto, kvm, hvf or tcg/],
    [{ diskSize: 'big' }, 'diskSize', /512M/],
  ])('rejects %j on field %s', (extra, field, msg) => {
    const f = fieldsOf({ name: 'ok', kernel: '/ok/k', ...extra });
    expect(f[field]).toMatch(msg);
  });

  it('reports every broken field at once', () => {
    const f = fieldsOf({ name: '../x', memory: '0', cpus: 0, kernel: 'rel' });
    expect(Object.keys(f).sort()).toEqual(['cpus', 'kernel', 'memory', 'name']);
    const g = fieldsOf({ name: 'ok', memory: '0', cpus: 0, kernel: 'rel', initrd: '/nope' });
    expect(Object.keys(g).sort()).toEqual(['cpus', 'initrd', 'kernel', 'memory']);
  });

  it('rejects unknown fields by name', () => {
    expect(fieldsOf({ name: 'ok', kernel: '/ok/k', colour: 'red' })).toEqual({ colour: 'is not a known field' });
  });

  it('rejects a body that is not an object', () => {
    expect(Object.keys(fieldsOf([1, 2]))).toEqual(['(body)']);
    expect(Object.keys(fieldsOf(null))).toEqual(['(body)']);
  });

  it('needs something to boot, and kernel for initrd and cmdline', () => {
    expect(fieldsOf({ name: 'ok' }).kernel).toMatch(/something to boot/);
    const f = fieldsOf({ name: 'ok', disk: '/ok/d', initrd: '/ok/i', cmdline: 'x' });
    expect(f.initrd).toMatch(/needs kernel/);
    expect(f.cmdline).toMatch(/needs kernel/);
  });

  it('records the disk format and a new disk size', () => {
    expect(validateCreate({ name: 'd', disk: '/ok/d.img', diskFormat: 'raw' }, host, detect).spec.disks).toEqual([
      { path: '/ok/d.img', format: 'raw', owned: false, readonly: false },
    ]);
    expect(validateCreate({ name: 'd', disk: '/ok/d.qcow2' }, host, detect).spec.disks[0]?.format).toBe('qcow2');
    expect(validateCreate({ name: 'd', diskSize: '8G' }, host, detect).newDiskMiB).toBe(8192);
    expect(fieldsOf({ name: 'd', disk: '/ok/d', diskSize: '1G' }).diskSize).toMatch(/cannot be used with disk/);
  });
});

describe('applyPatch', () => {
  const { spec } = validateCreate({ name: 'p', kernel: '/ok/k', initrd: '/ok/i' }, host, detect);

  it('changes cpus and memory and clears a field with null', () => {
    const next = applyPatch(spec, { cpus: 2, memory: '1G', initrd: null }, host);
    expect(next).toMatchObject({ cpus: 2, memoryMiB: 1024, initrd: null, kernel: '/ok/k' });
    expect(spec.cpus).toBe(1);
  });

  it('refuses bad values and unknown fields with field errors', () => {
    expect(() => applyPatch(spec, { cpus: 0 }, host)).toThrow(/cpus/);
    expect(() => applyPatch(spec, { name: 'x' }, host)).toThrow(/name is not a known field/);
    expect(() => applyPatch(spec, { kernel: null }, host)).toThrow(/needs kernel/);
  });
});

describe('limits that would only fail at start', () => {
  it('refuses a kernel command line longer than COMMAND_LINE_SIZE - 1 bytes, on create and patch', () => {
    expect(fieldsOf({ name: 'c', kernel: '/ok/k', cmdline: 'a'.repeat(2048) }).cmdline).toMatch(/at most 2047 bytes.*COMMAND_LINE_SIZE is 2048/);
    // Bytes count, not characters: 1024 two-byte characters are 2048 bytes.
    expect(fieldsOf({ name: 'c', kernel: '/ok/k', cmdline: 'é'.repeat(1024) }).cmdline).toMatch(/got 2048/);
    expect(validateCreate({ name: 'c', kernel: '/ok/k', cmdline: 'a'.repeat(2047) }, host, detect).spec.cmdline).toHaveLength(2047);
    const { spec } = validateCreate({ name: 'c', kernel: '/ok/k' }, host, detect);
    expect(() => applyPatch(spec, { cmdline: 'a'.repeat(3000) }, host)).toThrow(/cmdline must be at most 2047 bytes/);
  });

  it('refuses a name whose socket paths would not fit, saying how long it may be here', () => {
    const h: HostFacts = { ...host, maxNameLength: 10 };
    expect(() => validateCreate({ name: 'a'.repeat(11), kernel: '/ok/k' }, h, detect)).toThrow(/name must be at most 10 characters here/);
    expect(validateCreate({ name: 'a'.repeat(10), kernel: '/ok/k' }, h, detect).spec.name).toHaveLength(10);
    expect(() => validateCreate({ name: 'a', kernel: '/ok/k' }, { ...host, maxNameLength: 0 }, detect)).toThrow(/use a shorter BENTO_HOME/);
  });

  it('maxNameLengthFor leaves room for the longest VM socket name under the limit', () => {
    const home = '/tmp/bt-x';
    const n = maxNameLengthFor(home);
    const longest = Math.max(...VM_SOCKET_NAMES.map((s) => s.length));
    expect(`${home}/vms/${'a'.repeat(n)}/${'x'.repeat(longest)}`.length).toBe(MAX_SOCKET_PATH);
  });
});

describe('image VMs', () => {
  const image: ResolvedImage = {
    ref: 'debian-12',
    sha256: 'c'.repeat(64),
    path: '/cache/images/cccc.qcow2',
    format: 'qcow2',
    virtualSizeMiB: 2048,
    firmware: 'bios',
  };

  function imageFields(body: Record<string, unknown>, resolved?: ResolvedImage, h: HostFacts = host): Record<string, string> {
    try {
      validateCreate(body, h, detect, resolved);
    } catch (err) {
      expect(err).toBeInstanceOf(BentoError);
      return Object.fromEntries(((err as BentoError).fields ?? []).map((f) => [f.field, f.message]));
    }
    throw new Error('expected a validation error');
  }

  it('makes a spec ready for the overlay: the image reference, its firmware, 1 GiB and a seed for the guest user', () => {
    const { spec, newDiskMiB, userData } = validateCreate({ name: 'web', image: 'debian-12' }, host, detect, image, 'alice');
    expect(spec.image).toEqual({ ref: 'debian-12', sha256: 'c'.repeat(64), path: '/cache/images/cccc.qcow2', format: 'qcow2' });
    expect(spec).toMatchObject({ backend: 'qemu', firmware: 'bios', memoryMiB: 1024, network: 'nat', publish: [], kernel: null, disks: [] });
    expect(spec.cloudInit?.user).toBe('alice');
    expect(spec.cloudInit?.instanceId).toMatch(/^bento-[0-9a-f]{16}$/);
    expect(newDiskMiB).toBeNull();
    expect(userData).toBeNull();
  });

  it('gives each VM its own instance id', () => {
    const a = validateCreate({ name: 'a', image: 'debian-12' }, host, detect, image).spec.cloudInit?.instanceId;
    const b = validateCreate({ name: 'a', image: 'debian-12' }, host, detect, image).spec.cloudInit?.instanceId;
    expect(a).not.toBe(b);
  });

  it('takes the firmware from the image unless the request names one', () => {
    expect(validateCreate({ name: 'a', image: 'x' }, host, detect, { ...image, firmware: 'uefi' }).spec.firmware).toBe('uefi');
    expect(validateCreate({ name: 'a', image: 'x', firmware: 'bios' }, host, detect, { ...image, firmware: 'uefi' }).spec.firmware).toBe('bios');
    // Without an image: UEFI on arm64, SeaBIOS on x86.
    expect(validateCreate({ name: 'a', kernel: '/ok/k' }, { ...host, arch: 'arm64' }, detect).spec.firmware).toBe('uefi');
    expect(validateCreate({ name: 'a', kernel: '/ok/k' }, { ...host, arch: 'x64' }, detect).spec.firmware).toBe('bios');
  });

  it('keeps an asked-for memory size, user, network, user-data and disk size', () => {
    const { spec, newDiskMiB, userData } = validateCreate(
      { name: 'a', image: 'x', memory: '2G', user: 'dev', network: 'restricted', userData: '#cloud-config\npackages: [git]\n', diskSize: '20G' },
      host,
      detect,
      image,
    );
    expect(spec).toMatchObject({ memoryMiB: 2048, network: 'restricted', cloudInit: { user: 'dev' } });
    expect(userData).toBe('#cloud-config\npackages: [git]\n');
    expect(newDiskMiB).toBe(20 * 1024);
  });

  it('the default guest user is the host user, or bento for root and names cloud-init would refuse', () => {
    expect(defaultGuestUser('alice')).toBe('alice');
    expect(defaultGuestUser('root')).toBe('bento');
    expect(defaultGuestUser('Alice')).toBe('bento');
    expect(defaultGuestUser('first.last')).toBe('bento');
    expect(validateCreate({ name: 'a', image: 'x' }, host, detect, image, 'root').spec.cloudInit?.user).toBe('bento');
    expect(validateCreate({ name: 'a', image: 'x' }, host, detect, image).spec.cloudInit?.user).toBe('bento');
  });

  it('has no seed with cloudInit none', () => {
    expect(validateCreate({ name: 'a', image: 'x', cloudInit: 'none' }, host, detect, image).spec.cloudInit).toBeNull();
  });

  it('stays qemu when vz could run the VM (the overlay is qcow2)', () => {
    const withVz: HostFacts = { ...host, backendUnavailable: () => null };
    expect(validateCreate({ name: 'a', image: 'x' }, withVz, detect, image).spec.backend).toBe('qemu');
    expect(validateCreate({ name: 'a', disk: '/ok/d.img', diskFormat: 'raw' }, withVz, detect).spec.backend).toBe('vz');
  });

  it('validates everything but the image before it is pulled, and returns no image then', () => {
    const { spec } = validateCreate({ name: 'a', image: 'debian-12' }, host, detect);
    expect(spec.image).toBeNull();
    expect(spec.cloudInit).not.toBeNull();
  });

  it.each(['kernel', 'disk'])('refuses %s with image', (field) => {
    const f = imageFields({ name: 'a', image: 'x', [field]: '/ok/f' }, image);
    expect(Object.keys(f)).toEqual([field]);
    expect(f[field]).toMatch(/cannot be used with image/);
  });

  it.each<[string, unknown]>([
    ['user', 'dev'],
    ['userData', '#cloud-config\n'],
    ['cloudInit', 'auto'],
  ])('refuses %s without image', (field, value) => {
    const f = imageFields({ name: 'a', kernel: '/ok/k', [field]: value });
    expect(f).toEqual({ [field]: 'needs image (the cloud-init seed is made for cloud images)' });
  });

  it('refuses user and userData with cloudInit none', () => {
    expect(imageFields({ name: 'a', image: 'x', cloudInit: 'none', user: 'dev', userData: '#!/bin/sh\n' }, image)).toEqual({
      user: 'cannot be used with cloudInit none',
      userData: 'cannot be used with cloudInit none',
    });
  });

  it.each(['Dev', '1dev', 'de v', 'dev$', 'a'.repeat(33), '', 'dév', '-dev'])('refuses the guest user %j', (user) => {
    expect(imageFields({ name: 'a', image: 'x', user }, image).user).toMatch(/must be a Linux user name/);
  });

  it.each(['_svc', 'dev', 'd-e_v9', 'a'.repeat(32)])('accepts the guest user %j', (user) => {
    expect(validateCreate({ name: 'a', image: 'x', user }, host, detect, image).spec.cloudInit?.user).toBe(user);
  });

  it('refuses user-data it cannot use, with the reason', () => {
    expect(imageFields({ name: 'a', image: 'x', userData: 'packages: [git]\n' }, image).userData).toMatch(/must start with #cloud-config/);
    expect(imageFields({ name: 'a', image: 'x', userData: '#cloud-config\n- a\n' }, image).userData).toMatch(/must be a cloud-config mapping/);
    expect(imageFields({ name: 'a', image: 'x', userData: '#cloud-config\na: [\n' }, image).userData).toMatch(/not valid cloud-config YAML/);
    expect(imageFields({ name: 'a', image: 'x', userData: '#!/bin/sh\n\0' }, image).userData).toMatch(/NUL/);
    expect(imageFields({ name: 'a', image: 'x', userData: `#!/bin/sh\n${'x'.repeat(256 * 1024)}` }, image).userData).toMatch(/at most 256 KiB/);
  });

  it('names each bad publish entry by its index', () => {
    const f = imageFields({ name: 'a', image: 'x', publish: ['8080:80', 'nope', '1.2.3.4:0:80', '8081:81/udp'] }, image);
    expect(Object.keys(f).sort()).toEqual(['publish[1]', 'publish[2]']);
    expect(f['publish[1]']).toBe('must be [HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp] with ports from 1 to 65535 and an IPv4 host address (got "nope")');
    expect(f['publish[2]']).toMatch(/got "1.2.3.4:0:80"/);
    expect(imageFields({ name: 'a', image: 'x', publish: 'nope' }, image).publish).toBe('must be a list of strings');
    expect(Object.keys(imageFields({ name: 'a', image: 'x', publish: ['8080:80', 5] }, image))).toEqual(['publish.1']);
  });

  it('refuses a host port published twice', () => {
    expect(imageFields({ name: 'a', image: 'x', publish: ['8080:80', '0.0.0.0:8080:81'] }, image).publish).toBe('forwards host port 0.0.0.0:8080:81/tcp twice');
  });

  it('parses the publish list into the spec', () => {
    expect(validateCreate({ name: 'a', image: 'x', publish: ['8080:80', '0.0.0.0:5353:53/udp'] }, host, detect, image).spec.publish).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: 5353, guestPort: 53, protocol: 'udp' },
    ]);
  });

  it('refuses publish with network none', () => {
    expect(imageFields({ name: 'a', image: 'x', network: 'none', publish: ['8080:80'] }, image)).toEqual({
      publish: 'needs a network (nat or restricted), not none',
    });
    expect(validateCreate({ name: 'a', image: 'x', network: 'none', publish: [] }, host, detect, image).spec.network).toBe('none');
  });

  it('refuses a disk size below the image\'s own', () => {
    expect(imageFields({ name: 'a', image: 'x', diskSize: '1G' }, image).diskSize).toBe(
      "must be at least the image's own size, 2048M (a disk cannot shrink below its image; got 1024M)",
    );
    expect(validateCreate({ name: 'a', image: 'x', diskSize: '2G' }, host, detect, image).newDiskMiB).toBe(2048);
    // Unknown image size: any size goes (qemu-img refuses a shrink itself).
    expect(validateCreate({ name: 'a', image: 'x', diskSize: '1G' }, host, detect, { ...image, virtualSizeMiB: null }).newDiskMiB).toBe(1024);
  });

  it('refuses the vz backend', () => {
    expect(imageFields({ name: 'a', image: 'x', backend: 'vz' }, image).image).toMatch(/not supported with the vz backend yet.*--backend qemu/);
  });

  it('reports every problem at once', () => {
    const f = imageFields({ name: 'a', image: 'x', kernel: '/ok/k', user: 'Bad', network: 'none', publish: ['8080:80', 'x'] }, image);
    expect(Object.keys(f).sort()).toEqual(['kernel', 'publish', 'publish[1]', 'user']);
  });
});

describe('applyPatch of networking', () => {
  const { spec } = validateCreate({ name: 'n', disk: '/ok/d.qcow2' }, host, detect);

  it('replaces the publish list and the network mode', () => {
    const next = applyPatch(spec, { publish: ['8080:80', '5353:53/udp'], network: 'restricted', firmware: 'uefi' }, host);
    expect(next.publish).toEqual([
      { hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 5353, guestPort: 53, protocol: 'udp' },
    ]);
    expect(next.network).toBe('restricted');
    expect(next.firmware).toBe('uefi');
    expect(applyPatch(next, { publish: [] }, host).publish).toEqual([]);
    // A PATCH without publish keeps it.
    expect(applyPatch(next, { cpus: 2 }, host).publish).toEqual(next.publish);
  });

  it('refuses bad and duplicate publish entries by index', () => {
    expect(() => applyPatch(spec, { publish: ['8080:80', 'junk'] }, host)).toThrow(/publish\[1\] must be/);
    expect(() => applyPatch(spec, { publish: ['8080:80', '8080:81'] }, host)).toThrow(/publish forwards host port 127.0.0.1:8080:81\/tcp twice/);
  });

  it('refuses network none while the VM publishes ports, unless the same PATCH clears them', () => {
    const publishing = applyPatch(spec, { publish: ['8080:80'] }, host);
    expect(() => applyPatch(publishing, { network: 'none' }, host)).toThrow(/network cannot be none while the VM publishes ports \(127.0.0.1:8080:80\/tcp\); clear publish too/);
    expect(applyPatch(publishing, { network: 'none', publish: [] }, host)).toMatchObject({ network: 'none', publish: [] });
    expect(() => applyPatch(publishing, { network: 'none', publish: ['9090:90'] }, host)).toThrow(/publish needs a network/);
  });

  it('refuses publishing on a VM without a network', () => {
    const offline = applyPatch(spec, { network: 'none' }, host);
    expect(() => applyPatch(offline, { publish: ['8080:80'] }, host)).toThrow(/publish needs a network/);
    expect(applyPatch(offline, { publish: ['8080:80'], network: 'nat' }, host).network).toBe('nat');
  });

  it('does not change seed settings', () => {
    expect(() => applyPatch(spec, { user: 'dev' }, host)).toThrow(/user is not a known field/);
    expect(() => applyPatch(spec, { network: 'bridge' }, host)).toThrow(/network must be nat, restricted or none/);
  });
});
