import { BentoError } from '../../errors.js';
import type { VmSpec } from '../../types.js';
import { defaultCmdline } from '../qemu/argv.js';
import { BENTO_XMLNS, BENTO_XMLNS_PREFIX } from './constants.js';
import { specToMetadata } from './libvirt-spec.js';

/** The guest architectures bento builds domain XML for (the libvirt host's own). */
export type LibvirtArch = 'x86_64' | 'aarch64';

/** What the domain XML depends on besides the spec. */
export interface DomainXmlOptions {
  /** 'kvm', or 'qemu' for TCG (see domainTypeFor). */
  domainType: 'kvm' | 'qemu';
  /** The host's architecture; default x86_64. */
  arch?: LibvirtArch;
}

/** Characters XML 1.0 cannot hold at all, not even as character references (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF). */
const NOT_XML = /[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;

function checkXmlChars(s: string): void {
  const m = NOT_XML.exec(s);
  if (m) {
    const cp = m[0].codePointAt(0) ?? 0;
    throw new BentoError('invalid-input', `cannot put U+${cp.toString(16).toUpperCase().padStart(4, '0')} into domain XML (in "${s.replace(NOT_XML, '?')}")`);
  }
}

/** Escapes text content: `&`, `<`, `>` and CR (a parser would turn a raw CR into LF). Throws on characters XML cannot hold. */
export function escapeXmlText(s: string): string {
  checkXmlChars(s);
  return s.replace(/[&<>\r]/g, (c) => ENTITY[c] ?? c);
}

/** Escapes an attribute value (either quote style), keeping tab, LF and CR from being normalised to spaces. */
export function escapeXmlAttr(s: string): string {
  checkXmlChars(s);
  return s.replace(/[&<>"'\t\n\r]/g, (c) => ENTITY[c] ?? c);
}

const ENTITY: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/** The virtio disk name of the i-th disk: vda … vdz, vdaa … (as libvirt and Linux count them). */
export function diskTarget(i: number): string {
  let n = i;
  let suffix = '';
  do {
    suffix = String.fromCharCode(97 + (n % 26)) + suffix;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `vd${suffix}`;
}

/** One element line: `<tag a='v'/>`, or with text `<tag a='v'>text</tag>`. */
function el(tag: string, attrs: Record<string, string | number | undefined> = {}, text?: string): string {
  const a = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}='${escapeXmlAttr(String(v))}'`)
    .join('');
  return text === undefined ? `<${tag}${a}/>` : `<${tag}${a}>${escapeXmlText(text)}</${tag}>`;
}

/** An element with children, indented by two spaces a level. */
function block(open: string, close: string, children: string[]): string[] {
  return [open, ...children.map((c) => `  ${c}`), close];
}

/**
 * The domain XML for a bento spec: a pure function covered by golden files (test/fixtures/libvirt).
 * It mirrors the local qemu command line (buildQemuCommand): q35 (virt on aarch64) like local VMs, so a
 * guest sees the same hardware on either backend; every disk names its format; serial console only (no
 * graphics, no video, no USB); user networking with the spec's MAC; rng and balloon. The spec itself
 * rides along as JSON in bento's <metadata> element, which is how bentod knows the domain is its own.
 */
export function buildDomainXml(spec: VmSpec, opts: DomainXmlOptions): string {
  const arch = opts.arch ?? 'x86_64';
  const arm = arch === 'aarch64';
  const kvm = opts.domainType === 'kvm';
  const uefi = spec.firmware === 'uefi';

  const os: string[] = [el('type', { arch, machine: arm ? 'virt' : 'q35' }, 'hvm')];
  if (spec.kernel) {
    os.push(el('kernel', {}, spec.kernel));
    if (spec.initrd) os.push(el('initrd', {}, spec.initrd));
    os.push(el('cmdline', {}, spec.cmdline ?? defaultCmdline(spec, { arch: arm ? 'arm64' : 'x64' })));
  }
  if (spec.iso) os.push(el('boot', { dev: 'cdrom' }));
  if (spec.iso || spec.disks.length) os.push(el('boot', { dev: 'hd' }));

  // ACPI on aarch64 needs UEFI (libvirt refuses it otherwise); x86 always has it, for the power button.
  const features = !arm || uefi ? block('<features>', '</features>', [el('acpi')]) : [];
  // KVM: the host's own CPU, as local VMs get (-cpu host). TCG on aarch64: the emulator's most capable
  // CPU (-cpu max; virt's default is a 32-bit one). TCG on x86: qemu's default, as local VMs.
  const cpu = kvm ? [el('cpu', { mode: 'host-passthrough' })] : arm ? [el('cpu', { mode: 'maximum' })] : [];

  const devices: string[] = [];
  spec.disks.forEach((d, i) => {
    devices.push(
      ...block("<disk type='file' device='disk'>", '</disk>', [
        // writeback + unmap as local disks (-drive cache=writeback,discard=unmap).
        el('driver', { name: 'qemu', type: d.format, cache: 'writeback', discard: 'unmap' }),
        el('source', { file: d.path }),
        el('target', { dev: diskTarget(i), bus: 'virtio' }),
        ...(d.readonly ? [el('readonly')] : []),
      ]),
    );
  });
  if (spec.iso) {
    devices.push(
      ...block("<disk type='file' device='cdrom'>", '</disk>', [
        el('driver', { name: 'qemu', type: 'raw' }),
        el('source', { file: spec.iso }),
        // q35 has AHCI (sata) and no IDE; aarch64 virt has neither, so a virtio-scsi controller carries it.
        el('target', { dev: 'sda', bus: arm ? 'scsi' : 'sata' }),
        el('readonly'),
      ]),
    );
    if (arm) devices.push(el('controller', { type: 'scsi', index: 0, model: 'virtio-scsi' }));
  }
  // As -nodefaults: no USB controller (nor the tablet libvirt would hang on it).
  devices.push(el('controller', { type: 'usb', model: 'none' }));
  if (spec.network !== 'none') {
    devices.push(
      ...block("<interface type='user'>", '</interface>', [
        el('mac', { address: spec.mac }),
        el('model', { type: 'virtio' }),
        // No PXE option ROM (local: romfile=): bento never netboots, and it saves boot time.
        el('rom', { enabled: 'no' }),
      ]),
    );
  }
  if (spec.console === 'virtio') {
    devices.push(...block("<console type='pty'>", '</console>', [el('target', { type: 'virtio', port: 0 })]));
  } else {
    devices.push(...block("<serial type='pty'>", '</serial>', [el('target', { port: 0 })]));
    devices.push(...block("<console type='pty'>", '</console>', [el('target', { type: 'serial', port: 0 })]));
  }
  devices.push(...block('<video>', '</video>', [el('model', { type: 'none' })]));
  // Only for the guest's own memory figures; bento never inflates it (autodeflate = deflate-on-oom).
  devices.push(el('memballoon', { model: 'virtio', autodeflate: 'on' }));
  devices.push(...block("<rng model='virtio'>", '</rng>', [el('backend', { model: 'random' }, '/dev/urandom')]));

  const metadata = `<${BENTO_XMLNS_PREFIX}:vm xmlns:${BENTO_XMLNS_PREFIX}="${escapeXmlAttr(BENTO_XMLNS)}">${escapeXmlText(specToMetadata(spec))}</${BENTO_XMLNS_PREFIX}:vm>`;
  const lines = block(`<domain type='${opts.domainType}'>`, '</domain>', [
    el('name', {}, spec.name),
    ...block('<metadata>', '</metadata>', [metadata]),
    el('memory', { unit: 'MiB' }, String(spec.memoryMiB)),
    el('vcpu', {}, String(spec.cpus)),
    ...block(uefi ? "<os firmware='efi'>" : '<os>', '</os>', os),
    ...features,
    ...cpu,
    el('clock', { offset: 'utc' }),
    el('on_poweroff', {}, 'destroy'),
    el('on_reboot', {}, 'restart'),
    el('on_crash', {}, 'destroy'),
    ...block('<devices>', '</devices>', devices),
  ]);
  return `${lines.join('\n')}\n`;
}

/** The host's CPU architecture in a capabilities XML (<host><cpu><arch>), when it is one bento builds for. */
export function hostArchOf(caps: string): LibvirtArch | null {
  const host = /<host>([\s\S]*?)<\/host>/.exec(caps)?.[1] ?? '';
  const arch = /<arch>\s*([^<\s]+)\s*<\/arch>/.exec(host)?.[1];
  return arch === 'x86_64' || arch === 'aarch64' ? arch : null;
}

/** The domain types (`qemu`, `kvm`, …) the capabilities offer for hvm guests of the arch (any arch when null). */
export function offeredDomainTypes(caps: string, arch: string | null): Set<string> {
  const types = new Set<string>();
  for (const [, guest = ''] of caps.matchAll(/<guest>([\s\S]*?)<\/guest>/g)) {
    if (!/<os_type>\s*hvm\s*<\/os_type>/.test(guest)) continue;
    const guestArch = /<arch\s+name\s*=\s*(['"])([^'"]*)\1/.exec(guest)?.[2];
    if (arch !== null && guestArch !== arch) continue;
    for (const [, , type = ''] of guest.matchAll(/<domain\s+type\s*=\s*(['"])([^'"]*)\1/g)) types.add(type);
  }
  return types;
}

/**
 * Which domain type a spec's accel gets on a host whose capabilities XML is `caps`: tcg -> qemu;
 * kvm -> kvm, or BentoError 'unsupported' when the host offers none; auto -> kvm when offered and, on an
 * x86 host, its CPU shows vmx or svm, else qemu. The second check is the local `auto`'s rule (src/vm/accel.ts):
 * libvirt offers kvm whenever /dev/kvm opens, but a guest without nested virtualisation underneath fails
 * at once (`failed to set MSR`) or hangs. The arch is the host's own (its <host><cpu><arch>). hvf is no
 * libvirt accelerator here: 'unsupported'.
 */
export function domainTypeFor(spec: Pick<VmSpec, 'accel' | 'name'>, caps: string): 'kvm' | 'qemu' {
  const arch = hostArchOf(caps) ?? /<host>[\s\S]*?<arch>\s*([^<\s]+)/.exec(caps)?.[1] ?? null;
  const kvm = offeredDomainTypes(caps, arch).has('kvm');
  switch (spec.accel) {
    case 'tcg':
      return 'qemu';
    case 'auto':
      return kvm && hostCanVirtualise(caps, arch) ? 'kvm' : 'qemu';
    case 'kvm':
      if (kvm) return 'kvm';
      throw new BentoError('unsupported', `${spec.name}: accel kvm is not available on this libvirt host (its capabilities offer no kvm domain for ${arch ?? 'its architecture'}); use accel auto or tcg`);
    default:
      throw new BentoError('unsupported', `${spec.name}: accel ${spec.accel} is not available on libvirt hosts; use auto, kvm or tcg`);
  }
}

/** Whether the host's CPU (its <host><cpu> in the capabilities) shows hardware virtualisation; only x86 says so. */
export function hostCanVirtualise(caps: string, arch: string | null): boolean {
  if (arch !== 'x86_64' && arch !== 'i686') return true;
  const cpu = /<host>[\s\S]*?<cpu>([\s\S]*?)<\/cpu>/.exec(caps)?.[1] ?? '';
  return /<feature\s+name=(['"])(vmx|svm)\1/.test(cpu);
}

/** The accelerator a domain runs with, from its XML's <domain type=…>: 'kvm' for kvm, else 'tcg'. */
export function accelOfXml(xml: string): 'kvm' | 'tcg' {
  const type = /<domain\b[^>]*?\stype\s*=\s*(['"])([^'"]*)\1/.exec(xml)?.[2];
  return type === 'kvm' ? 'kvm' : 'tcg';
}
