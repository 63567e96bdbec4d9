// `bento host ls` and the host checks of `bento ls --host`: pure formatting over GET /api/hosts.
import { BentoError } from '../vm/errors.js';
import { LOCAL_HOST, secondsUntil } from '../vm/host-name.js';
import type { HostEvent, HostInfo } from '../vm/types.js';
import { columns, formatUptime } from './format.js';
import { printable } from '../ui/text.js';

/** Why a host is not connected and when bentod tries again: `connection refused (retry in 4s)`. */
export function hostReason(h: Pick<HostInfo, 'state' | 'reason' | 'retryAt'>, now = Date.now()): string {
  const reason = h.reason ?? 'no reason given';
  if (h.state === 'reconnecting') return `${reason} (trying again now)`;
  return h.retryAt ? `${reason} (retry in ${secondsUntil(h.retryAt, now)}s)` : reason;
}

/** The `bento host ls` table: NAME KIND URI STATE VMS SINCE/REASON (the reason while it is not connected). */
export function formatHostTable(hosts: readonly HostInfo[], now = Date.now()): string {
  const rows = [['NAME', 'KIND', 'URI', 'STATE', 'VMS', 'SINCE/REASON']];
  for (const h of hosts) {
    const last = h.state === 'connected' || (h.state === 'connecting' && h.reason === null) ? formatUptime(h.since, now) : hostReason(h, now);
    rows.push([h.name, h.kind, h.uri ?? '-', h.state, String(h.vms), last]);
  }
  return columns(rows);
}

/** Whether `bento ls` shows the HOST column: some host besides local is configured, or some VM is not local. */
export function showsHosts(hosts: readonly Pick<HostInfo, 'name'>[], vms: readonly { host: string }[]): boolean {
  return hosts.some((h) => h.name !== LOCAL_HOST) || vms.some((v) => v.host !== LOCAL_HOST);
}

/** The host `--host` names, or a not-found error listing the configured ones. */
export function pickHost(name: string, hosts: readonly Pick<HostInfo, 'name'>[]): string {
  if (name === LOCAL_HOST || hosts.some((h) => h.name === name)) return name;
  const known = [LOCAL_HOST, ...hosts.map((h) => h.name).filter((n) => n !== LOCAL_HOST)];
  throw new BentoError('not-found', `no host named "${name}"; the hosts are ${known.join(', ')} (bento host add NAME URI adds one)`);
}

/** One line of `bento events` for a host: `AT  host lab1 unreachable: REASON (retry in 4s)`, `… connected`, `… removed`. */
export function formatHostEvent(ev: HostEvent, now = Date.now()): string {
  const at = new Date(now).toISOString();
  if (ev.kind === 'removed') return printable(`${at}  host ${ev.name} removed`);
  const h = ev.host;
  return printable(`${at}  host ${h.name} ${h.state}${h.state === 'connected' || h.state === 'connecting' ? '' : `: ${hostReason(h, now)}`}`);
}
