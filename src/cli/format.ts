import { formatMiB as formatMemory } from '../vm/size.js';
import { formatPublish } from '../vm/net.js';
import { compareHosts, LOCAL_HOST, splitVmName } from '../vm/host-name.js';
import type { StateEvent, Vm } from '../vm/types.js';
import { printable } from '../ui/text.js';

/** Formats how long a VM has run: 45s, 12m, 3h4m, 2d5h; '-' when stopped. */
export function formatUptime(startedAt: string | null, now = Date.now()): string {
  if (!startedAt) return '-';
  const s = Math.max(0, Math.floor((now - Date.parse(startedAt)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** Lays rows out in columns separated by two spaces, the last column unpadded. */
export function columns(table: string[][]): string {
  // Names and messages may come from a libvirt host: no cell may carry a control character.
  const rows = table.map((r) => r.map(printable));
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

/** A VM's state word for a table: `unreachable` while its host is, else its state. */
export function stateWord(v: Pick<Vm, 'state' | 'reachable'>): string {
  return v.reachable === false ? 'unreachable' : v.state;
}


/**
 * The `bento ls` table. With `hosts` (some host besides local exists) HOST comes first, the rows go
 * host by host (local first), and NAME is the VM's name on its host.
 */
export function formatVmTable(vms: Vm[], now = Date.now(), opts: { hosts?: boolean } = {}): string {
  const hosts = opts.hosts ?? false;
  const rows = [[...(hosts ? ['HOST'] : []), 'NAME', 'STATE', 'GUEST', 'CPUS', 'MEMORY', 'ACCEL', 'UPTIME', 'SSH']];
  // A stable sort: within a host, the order bentod lists them in.
  const list = hosts ? vms.slice().sort((a, b) => compareHosts(a.host, b.host)) : vms;
  for (const v of list) {
    // A VM whose definition is broken has no trustworthy sizes: show none rather than zeros.
    const broken = v.reason?.startsWith('corrupt-spec:') ?? false;
    rows.push([
      ...(hosts ? [v.host, splitVmName(v.name).vm] : [v.name]),
      stateWord(v),
      formatReady(v),
      broken ? '-' : String(v.cpus),
      broken ? '-' : formatMemory(v.memoryMiB),
      broken ? '-' : v.accel,
      formatUptime(v.startedAt, now),
      v.ssh ? `${v.ssh.host}:${v.ssh.port}` : '-',
    ]);
  }
  const notes = vms.filter((v) => v.reason?.startsWith('corrupt-spec:')).map((v) => `${v.name}: ${v.reason} (bento rm ${v.name}, or PATCH a complete definition)`);
  return [columns(rows), ...notes].join('\n');
}

/** The guest's reachability in one word: ready, booting (awaited), or '-' (not running, or nothing to probe). */
export function formatReady(v: Pick<Vm, 'ready'>): string {
  return v.ready === true ? 'ready' : v.ready === false ? 'booting' : '-';
}

/** `bento inspect` for people. */
export function formatInspect(data: Record<string, unknown>): string {
  const vm = data as unknown as Vm & { driver?: { command?: string[] }; runtime?: unknown; guestMounts?: { automatic: boolean; commands: string[] } };
  const spec = vm.spec;
  const lv = vm.libvirt ?? null;
  const rows: string[][] = [
    ['Name:', vm.name],
    ['State:', (vm.reachable === false ? `unreachable (last known: ${vm.state})` : vm.state) + (vm.reason ? ` (${vm.reason})` : '')],
    // Where a libvirt host's VM lives: the host, its URI, the domain and whether bento defined it.
    ...(lv
      ? [
          ['Host:', `${vm.host} (${lv.uri})`],
          ['Domain:', `${lv.domain}${lv.id !== null ? `, id ${lv.id}` : ''}${lv.persistent ? '' : ', transient'}`],
          ['UUID:', lv.uuid],
          ['Foreign:', lv.foreign ? 'yes: defined outside bento (bento never changes its XML; virsh undefines it)' : 'no: bento defined it'],
        ]
      : vm.host && vm.host !== LOCAL_HOST
        ? [['Host:', vm.host]]
        : []),
    ['Backend:', `${vm.backend} (accel ${vm.accel}${spec.accel === 'auto' ? ', auto' : ''})`],
    ['CPUs:', String(vm.cpus)],
    ['Memory:', formatMemory(vm.memoryMiB)],
    ['PID:', vm.pid === null ? '-' : String(vm.pid)],
    ['Uptime:', formatUptime(vm.startedAt)],
    ['Kernel:', spec.kernel ?? '-'],
    ['Initrd:', spec.initrd ?? '-'],
    ['Cmdline:', spec.cmdline ?? '-'],
    ['ISO:', spec.iso ?? '-'],
    ['Image:', spec.image ? `${spec.image.ref} (sha256-${spec.image.sha256.slice(0, 12)}, ${spec.image.path})` : '-'],
    ['Firmware:', spec.kernel ? 'direct kernel boot' : spec.firmware],
    ['Network:', spec.network + (spec.publish.length ? `; publish ${spec.publish.map(formatPublish).join(', ')}` : '')],
    ['Cloud-init:', spec.cloudInit ? `user ${spec.cloudInit.user}, instance ${spec.cloudInit.instanceId}` : '-'],
    ['SSH:', vm.ssh ? `${vm.ssh.user ?? ''}${vm.ssh.user ? '@' : ''}${vm.ssh.host}:${vm.ssh.port}${vm.ssh.hostKeysPinned ? ' (host keys pinned)' : ' (host keys not seen yet)'}` : '-'],
    ['Guest:', formatReady(vm)],
    ...(spec.mounts ?? []).map((m, i) => [`Mount ${i}:`, `${m.source} -> ${m.target} (${m.type}, tag ${m.tag}${m.readonly ? ', read-only' : ''})`]),
    ...spec.disks.map((d, i) => [`Disk ${i}:`, `${d.path} (${d.format}${d.readonly ? ', read-only' : ''}${d.owned ? '' : ', external'})`]),
    ['MAC:', spec.mac],
    ['Console:', spec.console],
    ['Folder:', vm.dir],
    ['Created:', spec.createdAt],
  ];
  if (vm.driver?.command) rows.push(['Command:', vm.driver.command.join(' ')]);
  const gm = vm.guestMounts;
  if (gm && gm.commands.length) {
    // The exact commands, one per line, so they can be pasted into the guest.
    rows.push(['Guest mounts:', gm.automatic ? 'mounted at every boot by bento\'s cloud-init seed; by hand:' : 'not automatic (no cloud-init seed); in the guest, as root:']);
    for (const c of gm.commands) rows.push(['', c]);
  }
  return columns(rows);
}

/** One line of `bento events`. */
export function formatEvent(ev: StateEvent): string {
  return printable(`${ev.at}  ${ev.name}  ${ev.previous} -> ${ev.state}${ev.reason ? `  (${ev.reason})` : ''}`);
}
