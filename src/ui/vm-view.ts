/** Pure views over the VM list: filtering, sorting, counts, labels. */
import { compareHosts } from '../vm/host-name.js';
import { VM_STATES, type Vm, type VmProgress, type VmState } from '../vm/types.js';

/** Columns the table can sort by. */
export type SortKey = 'name' | 'state' | 'cpus' | 'memory' | 'uptime';

/** The table's order. */
export interface Sort {
  key: SortKey;
  desc: boolean;
}

/** States that are on their way somewhere; their label animates. */
export const TRANSITIONAL: ReadonlySet<VmState> = new Set(['starting', 'pausing', 'resuming', 'stopping', 'saving', 'restoring']);

/** Whether a state is transitional. */
export function isTransitional(s: VmState): boolean {
  return TRANSITIONAL.has(s);
}

/** Whether the VM has a live process (uptime counts). */
export function isLive(vm: Vm): boolean {
  return vm.startedAt !== null && vm.state !== 'stopped';
}

// Sorting by state puts live VMs first, the way people scan a list for what is running.
const STATE_RANK: Record<VmState, number> = {
  running: 0,
  starting: 1,
  resuming: 2,
  restoring: 3,
  pausing: 4,
  paused: 5,
  saving: 6,
  stopping: 7,
  error: 8,
  stopped: 9,
};

/** States in the order people scan for them: live first. */
export const STATE_ORDER: readonly VmState[] = Object.entries(STATE_RANK)
  .sort((a, b) => a[1] - b[1])
  .map(([s]) => s as VmState);

// Host by host (local first), then by name: a host's VMs stay together whatever their names.
const byName = (a: Vm, b: Vm): number => compareHosts(a.host, b.host) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

const COMPARE: Record<SortKey, (a: Vm, b: Vm) => number> = {
  name: byName,
  state: (a, b) => STATE_RANK[a.state] - STATE_RANK[b.state],
  cpus: (a, b) => a.cpus - b.cpus,
  memory: (a, b) => a.memoryMiB - b.memoryMiB,
  // Longest running first when ascending feels backwards; ascending = shortest uptime first.
  uptime: (a, b) => startedMs(b) - startedMs(a),
};

function startedMs(vm: Vm): number {
  return vm.startedAt && vm.state !== 'stopped' ? Date.parse(vm.startedAt) : Number.POSITIVE_INFINITY;
}

/**
 * A filter in k9s style: a case-insensitive substring of the name; a leading `!` inverts it.
 * Returns null for an empty filter (everything matches).
 */
export function compileFilter(filter: string): ((name: string) => boolean) | null {
  const invert = filter.startsWith('!');
  const text = (invert ? filter.slice(1) : filter).toLowerCase();
  if (!text) return null;
  return invert ? (n) => !n.toLowerCase().includes(text) : (n) => n.toLowerCase().includes(text);
}

/** The rows the table shows: those of `host` (all when null), filtered, then sorted (ties by name, so the order is stable). */
export function visibleVms(vms: Iterable<Vm>, filter: string, sort: Sort, host: string | null = null): Vm[] {
  const match = compileFilter(filter);
  const out: Vm[] = [];
  for (const vm of vms) if ((host === null || vm.host === host) && (!match || match(vm.name))) out.push(vm);
  const cmp = COMPARE[sort.key];
  const dir = sort.desc ? -1 : 1;
  out.sort((a, b) => {
    const c = cmp(a, b);
    if (c !== 0 && !Number.isNaN(c)) return c * dir;
    return byName(a, b);
  });
  return out;
}

/** How many VMs are in each state; those of unreachable hosts count apart, as `unreachable`. */
export function countByState(vms: Iterable<Vm>): Record<VmState | 'unreachable', number> {
  const counts = Object.fromEntries([...VM_STATES, 'unreachable'].map((s) => [s, 0])) as Record<VmState | 'unreachable', number>;
  for (const vm of vms) counts[vm.reachable ? vm.state : 'unreachable']++;
  return counts;
}

/** Seconds until a graceful stop turns forced, or null when none runs. */
export function stopCountdown(vm: Vm, now: number): number | null {
  if (vm.state !== 'stopping' || !vm.stopDeadline) return null;
  return Math.max(0, Math.ceil((Date.parse(vm.stopDeadline) - now) / 1000));
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const GLYPH: Partial<Record<VmState, string>> = { running: '●', stopped: '○', paused: '‖', error: '✗' };

/** The glyph of a VM whose host is unreachable. */
export const UNREACHABLE_GLYPH = '✗';

/** The glyph before a state: a fixed mark, or a spinner frame for transitional states. */
export function stateGlyph(state: VmState, frame: number): string {
  return GLYPH[state] ?? SPINNER[frame % SPINNER.length]!;
}

/**
 * The state cell: `● running`, `⠋ stopping 27s` while a graceful stop counts down, `⠋ saving 42%`
 * (or the bytes so far) while a long operation runs, `○ stopped·saved` for a VM suspended to disk.
 */
export function stateLabel(vm: Vm, frame: number, now: number): string {
  // Its host is away: the state bento last saw is not worth showing as if it were current.
  if (!vm.reachable) return `${UNREACHABLE_GLYPH} unreachable`;
  const left = stopCountdown(vm, now);
  const head = `${stateGlyph(vm.state, frame)} ${vm.state}`;
  if (left !== null) return `${head} ${left}s`;
  if (vm.progress) return `${head}${progressText(vm.progress)}`;
  if (vm.state === 'stopped' && vm.savedState) return `${head}·saved`;
  return head;
}

/** A long operation's progress, short: ` 42%`, ` 120M`, or nothing before the first figure. */
export function progressText(p: Pick<VmProgress, 'percent' | 'doneBytes'>): string {
  if (p.percent !== null) return ` ${p.percent}%`;
  if (p.doneBytes !== null) return ` ${Math.floor(p.doneBytes / (1024 * 1024))}M`;
  return '';
}

/** Whether a running VM's guest can be reached yet: ready, booting (awaited), or null (nothing to show). */
export function readiness(vm: Pick<Vm, 'state' | 'ready'>): 'ready' | 'booting' | null {
  if (vm.state !== 'running' || vm.ready === null) return null;
  return vm.ready ? 'ready' : 'booting';
}

/** The mark beside `running` in the table: the guest answers (✓), or is still coming up (◌). */
export const READY_MARK: Record<'ready' | 'booting', string> = { ready: '✓', booting: '◌' };

/** Index of `name` in `rows`, or the nearest index to `fallback` when it is gone; -1 when empty. */
export function selectionIndex(rows: readonly Vm[], name: string | null, fallback: number): number {
  if (rows.length === 0) return -1;
  if (name !== null) {
    const i = rows.findIndex((v) => v.name === name);
    if (i >= 0) return i;
  }
  return Math.min(Math.max(fallback, 0), rows.length - 1);
}
