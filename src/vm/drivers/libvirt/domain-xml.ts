// PLACEHOLDER of helper C2 so the engine compiles: helper C1's domain-xml.ts (the real builder with
// golden files) replaces this file at merge.
import type { VmSpec } from '../../types.js';
import { BENTO_XMLNS } from './binding.js';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A bento spec as libvirt domain XML, with the spec kept in bento's metadata element. */
export function buildDomainXml(spec: VmSpec, opts: { domainType: 'kvm' | 'qemu'; arch?: 'x86_64' | 'aarch64' }): string {
  return [
    `<domain type='${opts.domainType}'>`,
    `  <name>${esc(spec.name)}</name>`,
    `  <memory unit='MiB'>${spec.memoryMiB}</memory>`,
    `  <vcpu>${spec.cpus}</vcpu>`,
    `  <metadata><bento:vm xmlns:bento="${BENTO_XMLNS}">${esc(JSON.stringify(spec))}</bento:vm></metadata>`,
    `  <os><type arch='${opts.arch ?? 'x86_64'}'>hvm</type></os>`,
    `  <devices><serial type='pty'/><console type='pty'/></devices>`,
    `</domain>`,
  ].join('\n');
}

/** kvm when the host's capabilities offer it for this guest, else qemu (TCG). */
export function domainTypeFor(_spec: VmSpec, caps: string): 'kvm' | 'qemu' {
  return /<domain\s+type=['"]kvm['"]/.test(caps) ? 'kvm' : 'qemu';
}

/** The accelerator a domain's XML asks for. */
export function accelOfXml(xml: string): 'kvm' | 'tcg' {
  return /<domain[^>]*\stype=['"]kvm['"]/.test(xml) ? 'kvm' : 'tcg';
}
