/** What the details pane says about a VM's image, network and guest, as text. */
import type { MountSpec, NetworkMode, PortForward, Vm, VmSample, VmSpec } from '../vm/types.js';
import { LOCAL_HOST } from '../vm/host-name.js';
import { READY_MARK, readiness } from './vm-view.js';
import type { VmLiveStats } from './live-stats.js';
import { cpuSparkline, formatBytes as formatSize, formatCpu, formatGuestMem, formatRate, sparkline } from './stats-format.js';

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

/**
 * Where a VM of a libvirt host lives, as label/text rows: the host (and whether it is reachable),
 * its URI, the domain's name and id, its UUID, and whether bento defined it. Nothing for a local VM.
 */
export function hostRows(vm: Pick<Vm, 'host' | 'reachable' | 'libvirt'>): Array<[string, string]> {
  const lv = vm.libvirt;
  if (!lv) return vm.host === LOCAL_HOST ? [] : [['host', `${vm.host}${vm.reachable ? '' : ' · unreachable'}`]];
  return [
    ['host', `${vm.host}${vm.reachable ? '' : ' · unreachable (last known state)'}`],
    ['uri', lv.uri],
    ['domain', `${lv.domain}${lv.id !== null ? ` · id ${lv.id}` : ''}${lv.persistent ? '' : ' · transient'}`],
    ['uuid', lv.uuid],
    ['foreign', lv.foreign ? 'yes: defined outside bento (its XML is never changed; virsh undefines it)' : 'no: bento defined it'],
  ];
}

/** Word-wraps a note into at most two lines of `width` cells (the second cut with … if it must be). */
export function wrapNote(text: string, width: number): string[] {
  const w = Math.max(width, 8);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > w) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  if (lines.length <= 2) return lines.map((l) => (l.length > w ? `${l.slice(0, w - 1)}…` : l));
  const second = lines.slice(1).join(' ');
  return [lines[0]!, second.length > w ? `${second.slice(0, w - 1)}…` : second];
}

/** A rate line with its sparkline, or null when the backend has no such figure. */
function rateLine(history: readonly VmSample[], label: [string, string], pick: (s: VmSample) => [number | null, number | null], spark: number): string | null {
  const [a, b] = pick(history.at(-1)!);
  if (a === null && b === null) return null;
  const sums = history.map((s) => {
    const [x, y] = pick(s);
    return x === null && y === null ? null : (x ?? 0) + (y ?? 0);
  });
  return `${label[0]} ${formatRate(a)} · ${label[1]} ${formatRate(b)}  ${sparkline(sums, spark)}`.trimEnd();
}

/**
 * The live figures for the details pane, as label/text rows `width` cells wide: CPU with its
 * sparkline, host and guest memory, disk and network rates with sparklines (of read+write, rx+tx),
 * or, for a figure the backend lacks, its reason (wrapped, continuation rows unlabelled).
 * `spark` is the sparkline width in cells.
 */
export function statsRows(stats: VmLiveStats | undefined, spark: number, width = 80): Array<[string, string]> {
  const h = stats?.history ?? [];
  const last = h.at(-1);
  if (!stats || !last) return [];
  const notes = stats.notes;
  const rows: Array<[string, string]> = [];
  const add = (label: string, text: string | null, note: string | undefined): void => {
    if (text !== null) rows.push([label, text]);
    else wrapNote(note ?? 'n/a', width).forEach((l, i) => rows.push([i === 0 ? label : '', l]));
  };
  add('cpu', last.cpuPercent === null ? null : `${formatCpu(last.cpuPercent)}  ${cpuSparkline([...h], spark)}`.trimEnd(), notes.cpu);
  if (last.rssBytes !== null) rows.push(['memory', `${formatSize(last.rssBytes)} on the host`]);
  const guest = formatGuestMem(last);
  add('in guest', guest === '-' ? null : `${guest} used`, notes.guestMem);
  add('disk io', rateLine(h, ['read', 'write'], (s) => [s.diskReadBps, s.diskWriteBps], spark), notes.disk);
  add('net io', rateLine(h, ['rx', 'tx'], (s) => [s.netRxBps, s.netTxBps], spark), notes.net);
  return rows;
}
