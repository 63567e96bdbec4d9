// PLACEHOLDER of helper C2 so the engine compiles: helper C1's libvirt-spec.ts (the real rules and
// refusals of a create on a libvirt host, and the metadata format) replaces this file at merge.
import { BentoError } from '../../errors.js';
import type { VmSpec } from '../../types.js';

/** A create request for a libvirt host (body.name already without HOST/) as a VmSpec. */
export function libvirtSpecFromRequest(body: unknown, now: Date = new Date()): VmSpec {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof b.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(b.name)) {
    throw new BentoError('invalid-input', 'name must be a plain name', { fields: [{ field: 'name', message: 'must be a plain name' }] });
  }
  if (b.diskSize !== undefined) {
    throw new BentoError('invalid-input', 'diskSize: give --disk PATH of an image on that host', { fields: [{ field: 'diskSize', message: 'give --disk PATH of an image on that host' }] });
  }
  const cpus = typeof b.cpus === 'number' ? b.cpus : 1;
  const memoryMiB = typeof b.memory === 'number' ? b.memory : 512;
  return {
    name: b.name,
    backend: 'libvirt',
    cpus,
    memoryMiB,
    accel: 'auto',
    kernel: typeof b.kernel === 'string' ? b.kernel : null,
    initrd: typeof b.initrd === 'string' ? b.initrd : null,
    cmdline: typeof b.cmdline === 'string' ? b.cmdline : null,
    disks: typeof b.disk === 'string' ? [{ path: b.disk, format: 'qcow2', owned: false, readonly: false }] : [],
    iso: null,
    mac: '52:54:00:00:00:01',
    console: 'serial',
    createdAt: now.toISOString(),
    image: null,
    firmware: 'bios',
    network: 'none',
    publish: [],
    cloudInit: null,
    mounts: [],
  };
}

/** The bento spec kept in a domain's metadata element, or null when it has none (or an unreadable one). */
export function specFromMetadata(metadata: string | null): VmSpec | null {
  if (!metadata) return null;
  const m = /<([\w:]+)[^>]*>([\s\S]*)<\/\1>/.exec(metadata);
  if (!m) return null;
  try {
    const text = (m[2] ?? '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    return JSON.parse(text) as VmSpec;
  } catch {
    return null;
  }
}
