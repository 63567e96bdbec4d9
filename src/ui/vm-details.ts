/** What the details pane says about a VM's image, network and guest, as text. */
import type { MountSpec, NetworkMode, PortForward, Vm, VmSpec } from '../vm/types.js';
import { READY_MARK, readiness } from './vm-view.js';

/** The loopback address a forward listens on unless told otherwise; not worth repeating. */
const LOOPBACK = '127.0.0.1';

/** A forward as the user types it: `8080:80/tcp`, with the host address when it is not loopback. */
export function forwardText(f: PortForward): string {
  return `${f.hostIp === LOOPBACK ? '' : `${f.hostIp}:`}${f.hostPort}:${f.guestPort}/${f.protocol}`;
}

/** A shared folder: `SRC → DST (type, ro)`. */
export function mountText(m: MountSpec): string {
  return `${m.source} → ${m.target} (${m.type}${m.readonly ? ', ro' : ''})`;
}

const NETWORK: Record<NetworkMode, string> = {
  nat: 'nat',
  restricted: 'restricted (no outbound)',
  none: 'none (no network card)',
};

/** The network line. */
export function networkText(spec: Pick<VmSpec, 'network'>): string {
  return NETWORK[spec.network] ?? spec.network;
}

/** The base image: what it was asked as, and the start of its digest. */
export function imageText(spec: Pick<VmSpec, 'image'>): string | null {
  return spec.image ? `${spec.image.ref} (${spec.image.sha256.slice(0, 12)})` : null;
}

/** The SSH endpoint, `user@127.0.0.1:PORT`, and whether bento has pinned the guest's host keys yet. */
export function sshText(vm: Pick<Vm, 'ssh'>): string | null {
  const s = vm.ssh;
  if (!s) return null;
  return `${s.user ? `${s.user}@` : ''}${s.host}:${s.port} · keys ${s.hostKeysPinned ? 'pinned' : 'not pinned yet'}`;
}

/**
 * The guest's readiness, or null when there is nothing to say (not running, nothing to probe).
 * While it boots: first its host keys are awaited (on the console), then SSH and cloud-init.
 */
export function guestText(vm: Pick<Vm, 'state' | 'ready' | 'spec' | 'ssh'>): string | null {
  const r = readiness(vm);
  if (!r) return null;
  const cloudInit = vm.spec.cloudInit !== null;
  if (r === 'ready') return `${READY_MARK.ready} ready (SSH answers${cloudInit ? ', cloud-init finished' : ''})`;
  if (vm.ssh && !vm.ssh.hostKeysPinned) return `${READY_MARK.booting} booting: host keys not seen yet`;
  return `${READY_MARK.booting} booting: waiting for SSH${cloudInit ? ' and cloud-init' : ''}`;
}

/** The saved state of a VM suspended to disk: its size and when it was saved; null when it has none. */
export function savedText(vm: Pick<Vm, 'savedState'>, formatBytes: (n: number) => string): string | null {
  const st = vm.savedState;
  if (!st) return null;
  return `${formatBytes(st.bytes)} · saved ${st.at.replace('T', ' ').slice(0, 19)} UTC · s resumes it`;
}
