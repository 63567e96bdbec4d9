// A libvirt domain as bento shows it: the cached facts of one domain, and the Vm built from them.
import path from 'node:path';
import { joinVmName } from '../../host-name.js';
import type { Vm, VmSpec, VmState } from '../../types.js';
import type { DomainInfo } from './binding.js';
import { mapDomainState } from './states.js';
import { specFromMetadata } from './libvirt-spec.js';

/** The folder under $BENTO_HOME that holds bentod's own files of every libvirt host's VMs. */
export const HOSTS_DIR = 'hosts';

/** A state bento shows while one of its own operations runs, as long as libvirt still reports one of `from`. */
export interface Overlay {
  state: VmState;
  from: readonly VmState[];
}

/** What the host engine keeps of one domain. */
export interface CachedDomain {
  info: DomainInfo;
  /** The accelerator of its <domain type=…>. */
  accel: 'kvm' | 'tcg';
  /** The state and reason libvirt last gave (from an event's meaning or a lookup). */
  mapped: { state: VmState; reason: string | null };
  /** When bento saw it start, else null. */
  startedAt: Date | null;
  overlay: Overlay | null;
  /** While a graceful stop waits: when it turns forced. */
  stopDeadline: Date | null;
  /** Bumped by every event: a lookup started before a newer event is not applied over it. */
  seq: number;
  /** The bento spec read from `metadata` (kept: views are built often, the metadata seldom changes). */
  bento?: { from: string | null; spec: VmSpec | null };
}

/** The bento spec of a domain's metadata, read once per metadata text. */
function bentoSpec(d: CachedDomain): VmSpec | null {
  if (!d.bento || d.bento.from !== d.info.metadata) d.bento = { from: d.info.metadata, spec: specFromMetadata(d.info.metadata) };
  return d.bento.spec;
}

/** bentod's folder for one domain: $BENTO_HOME/hosts/HOST/DOMAIN-UUID (the domain part made a safe file name). */
export function domainDir(home: string, host: string, domain: string, uuid: string): string {
  const safe = domain.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return path.join(home, HOSTS_DIR, host, `${safe}-${uuid}`);
}

/** A new cache entry from what libvirt reports. */
export function cachedDomain(info: DomainInfo, accel: 'kvm' | 'tcg'): CachedDomain {
  return { info, accel, mapped: mapDomainState(info.state, info.reason), startedAt: null, overlay: null, stopDeadline: null, seq: 0 };
}

/** The spec bento shows for a domain it did not create (or whose metadata it cannot read). */
export function synthesizedSpec(info: DomainInfo): VmSpec {
  return {
    name: info.name,
    backend: 'libvirt',
    cpus: info.vcpus,
    memoryMiB: Math.floor(info.maxMemKiB / 1024),
    accel: 'auto',
    kernel: null,
    initrd: null,
    cmdline: null,
    disks: [],
    iso: null,
    mac: '',
    console: 'serial',
    createdAt: '',
    image: null,
    firmware: 'bios',
    network: 'none',
    publish: [],
    cloudInit: null,
    mounts: [],
  };
}

/** The state shown: bento's overlay while libvirt still reports what the operation started from. */
export function shownState(d: CachedDomain): { state: VmState; reason: string | null } {
  if (d.overlay && d.overlay.from.includes(d.mapped.state)) return { state: d.overlay.state, reason: null };
  return d.mapped;
}

/** The Vm of a cached domain. */
export function domainVm(d: CachedDomain, ctx: { host: string; uri: string; home: string; reachable: boolean }): Vm {
  const { info } = d;
  const bento = bentoSpec(d);
  const { state, reason } = shownState(d);
  const active = state !== 'stopped';
  return {
    name: joinVmName(ctx.host, info.name),
    backend: 'libvirt',
    state,
    reason,
    accel: d.accel,
    cpus: info.vcpus,
    memoryMiB: Math.floor(info.maxMemKiB / 1024),
    pid: null,
    startedAt: active && d.startedAt ? d.startedAt.toISOString() : null,
    // The metadata's spec is what bento created; its name is the domain's own (libvirt may have renamed it).
    spec: bento ? { ...bento, name: info.name, backend: 'libvirt' } : synthesizedSpec(info),
    dir: domainDir(ctx.home, ctx.host, info.name, info.uuid),
    stopDeadline: state === 'stopping' && d.stopDeadline ? d.stopDeadline.toISOString() : null,
    ssh: null,
    ready: null,
    progress: null,
    savedState: null,
    host: ctx.host,
    reachable: ctx.reachable,
    libvirt: { uri: ctx.uri, uuid: info.uuid, domain: info.name, id: info.id >= 0 ? info.id : null, foreign: bento === null, persistent: info.persistent },
  };
}
