/**
 * Pure views over the hosts: which hosts the TUI knows, the order `H` cycles them in, and the header
 * line that shows each host's connection state, abbreviated until it fits the terminal.
 */
import { compareHosts, LOCAL_HOST, secondsUntil } from '../vm/host-name.js';
import type { HostConnState, HostInfo, Vm } from '../vm/types.js';
import { cleanText } from './text.js';

/** Every host the TUI knows of: bentod's list and the hosts of the VMs it has (local always), in table order. */
export function knownHosts(hosts: ReadonlyMap<string, HostInfo>, vms: Iterable<Pick<Vm, 'host'>>): string[] {
  const names = new Set<string>([LOCAL_HOST, ...hosts.keys()]);
  for (const vm of vms) names.add(vm.host);
  return [...names].sort(compareHosts);
}

/** The next host filter of `H`: all → local → lab1 → … → all again. A host that went away restarts the cycle. */
export function nextHostFilter(known: readonly string[], current: string | null): string | null {
  if (current === null) return known[0] ?? null;
  const i = known.indexOf(current);
  if (i < 0) return known[0] ?? null;
  return i + 1 < known.length ? known[i + 1]! : null;
}

/** The glyph of a connection state. */
export const HOST_GLYPH: Record<HostConnState, string> = { connected: '●', connecting: '◌', reconnecting: '◌', unreachable: '✗' };

/** How a part of the host line is coloured (the theme's colour of the same name). */
export type HostTone = 'ok' | 'warn' | 'error' | 'muted' | null;

/** A piece of the host line. */
export interface HostSegment {
  text: string;
  tone: HostTone;
  /** The host the `H` filter shows: drawn inverse. */
  selected?: boolean;
}

const TONE: Record<HostConnState, HostTone> = { connected: 'ok', connecting: 'warn', reconnecting: 'warn', unreachable: 'error' };
const PREFIX = ' hosts ';
const SEP = ' · ';
/** The fewest cells of a reason worth showing before it is dropped altogether. */
const MIN_REASON = 10;

/** Seconds until the next attempt of an unreachable host, or null. */
function retryIn(h: HostInfo, now: number): number | null {
  return h.retryAt ? secondsUntil(h.retryAt, now) : null;
}

/**
 * One host at an abbreviation level: 0 says everything (`lab3 ✗ unreachable: REASON (retry in 4s)`),
 * 1 drops the word `connected` and cuts the reason to `reasonRoom`, 2 drops the reason, 3 keeps the
 * name, the glyph and the retry seconds only.
 */
function hostParts(h: HostInfo, level: number, now: number, reasonRoom: number): HostSegment[] {
  const glyph = { text: HOST_GLYPH[h.state], tone: TONE[h.state] };
  const name = { text: `${h.name} `, tone: null };
  if (h.name === LOCAL_HOST || (h.state === 'connected' && level >= 1)) return [name, glyph];
  const secs = retryIn(h, now);
  if (level >= 3) return [name, glyph, ...(h.state === 'unreachable' && secs !== null ? [{ text: ` ${secs}s`, tone: 'muted' as const }] : [])];
  const word = { text: ` ${h.state}`, tone: TONE[h.state] };
  if (h.state !== 'unreachable') return [name, glyph, word];
  const retry = secs === null ? [] : [{ text: ` (retry in ${secs}s)`, tone: 'muted' as const }];
  const reason = cleanText(h.reason ?? '').trim();
  if (level >= 2 || !reason) return [name, glyph, word, ...retry];
  const cut = level === 0 || reason.length <= reasonRoom ? reason : `${reason.slice(0, Math.max(reasonRoom - 1, 0))}…`;
  return [name, glyph, { text: `${word.text}: ${cut}`, tone: TONE[h.state] }, ...retry];
}

const width = (segs: readonly HostSegment[]): number => segs.reduce((n, s) => n + s.text.length, 0);

function line(hosts: readonly HostInfo[], level: number, now: number, reasonRoom: number, selected: string | null): HostSegment[] {
  const out: HostSegment[] = [{ text: PREFIX, tone: 'muted' }];
  hosts.forEach((h, i) => {
    if (i > 0) out.push({ text: SEP, tone: 'muted' });
    const [name, ...rest] = hostParts(h, level, now, reasonRoom);
    // The filtered host's name is drawn inverse, without the space after it.
    if (h.name === selected) out.push({ text: h.name, tone: null, selected: true }, { text: ' ', tone: null }, ...rest);
    else out.push(name!, ...rest);
  });
  return out;
}

/**
 * The header's host line for a terminal `cols` wide: every host with its state, the reasons of
 * unreachable ones cut to share the room left, then dropped, then only glyphs; at the narrowest, a
 * count per state. `selected` is the host the table is filtered to.
 */
export function hostLine(hosts: readonly HostInfo[], cols: number, now: number, selected: string | null = null): HostSegment[] {
  const full = line(hosts, 0, now, 0, selected);
  if (width(full) <= cols) return full;
  const unreachable = hosts.filter((h) => h.state === 'unreachable' && h.reason).length;
  if (unreachable) {
    // The reasons share what the line leaves beside everything else (each gets ": " + its text).
    const bare = width(line(hosts, 2, now, 0, selected));
    const room = Math.floor((cols - bare) / unreachable) - 2;
    if (room >= MIN_REASON) return line(hosts, 1, now, room, selected);
  }
  for (const level of [2, 3]) {
    const l = line(hosts, level, now, 0, selected);
    if (width(l) <= cols) return l;
  }
  const counts = new Map<HostConnState, number>();
  for (const h of hosts) counts.set(h.state, (counts.get(h.state) ?? 0) + 1);
  const out: HostSegment[] = [{ text: `${PREFIX}${hosts.length}:`, tone: 'muted' }];
  for (const s of ['connected', 'connecting', 'reconnecting', 'unreachable'] as const) {
    const n = counts.get(s);
    if (n) out.push({ text: ` ${n}${HOST_GLYPH[s]}`, tone: TONE[s] });
  }
  if (selected) out.push({ text: ` ${selected}`, tone: null, selected: true });
  return out;
}

/** The hosts the header shows, in table order: bentod's list, plus any host a VM names that the list lacks. */
export function headerHosts(hosts: ReadonlyMap<string, HostInfo>, vms: ReadonlyMap<string, Vm>, since: string): HostInfo[] {
  const counts = new Map<string, { all: number; away: number }>();
  for (const vm of vms.values()) {
    const c = counts.get(vm.host) ?? { all: 0, away: 0 };
    c.all++;
    if (!vm.reachable) c.away++;
    counts.set(vm.host, c);
  }
  return knownHosts(hosts, vms.values()).map(
    (name) =>
      hosts.get(name) ?? {
        name,
        kind: name === LOCAL_HOST ? 'local' : 'libvirt',
        uri: null,
        // Until bentod's list says more, what the VMs say.
        state: counts.get(name)?.away ? 'unreachable' : 'connected',
        reason: null,
        retryAt: null,
        since,
        vms: counts.get(name)?.all ?? 0,
      },
  );
}
