/** The VM table's columns for a width: fixed columns, the name takes the rest; narrow tables drop some. */
import { formatUptime } from '../cli/format.js';
import { splitVmName } from '../vm/host-name.js';
import { formatMiB } from '../vm/size.js';
import type { Vm } from '../vm/types.js';
import { fit, fitRight, printable } from './text.js';
import type { VmLiveStats } from './live-stats.js';
import { cpuSparkline, formatCpu } from './stats-format.js';
import type { SortKey } from './vm-view.js';

/** A column id. */
export type ColumnId = 'host' | 'name' | 'state' | 'backend' | 'accel' | 'cpus' | 'memory' | 'uptime' | 'cpu';

/** Cells of the CPU sparkline in the table (the last eight seconds). */
export const CPU_SPARK = 8;

/** One column. */
export interface Column {
  id: ColumnId;
  title: string;
  width: number;
  right: boolean;
  sort: SortKey | null;
}

const FIXED: Column[] = [
  { id: 'state', title: 'STATE', width: 15, right: false, sort: 'state' },
  { id: 'backend', title: 'BACKEND', width: 7, right: false, sort: null },
  { id: 'accel', title: 'ACCEL', width: 5, right: false, sort: null },
  { id: 'cpus', title: 'CPUS', width: 5, right: true, sort: 'cpus' },
  { id: 'memory', title: 'MEMORY', width: 7, right: true, sort: 'memory' },
  { id: 'uptime', title: 'UPTIME', width: 7, right: true, sort: 'uptime' },
  { id: 'cpu', title: 'CPU', width: 4 + 1 + CPU_SPARK, right: false, sort: null },
];
// Dropped in this order when the name column would get too narrow: the live CPU outranks the backend
// and accelerator (the same for most VMs on a host), so a 120-column terminal still shows it.
const DROP: ColumnId[] = ['backend', 'accel', 'cpu', 'cpus', 'uptime'];
const GAP = 2;
const MIN_NAME = 12;
/** The widest the HOST column gets (longer host names are cut with …). */
export const MAX_HOST_WIDTH = 12;

/** The HOST column's width for these host names: the longest, at least its title, at most MAX_HOST_WIDTH. */
export function hostColumnWidth(hosts: readonly string[]): number {
  return Math.min(Math.max(4, ...hosts.map((h) => h.length)), MAX_HOST_WIDTH);
}

/**
 * Columns for a table `width` cells wide (inside its borders; one leading space). A `hostWidth`
 * puts a HOST column first (the table then spans several hosts, and NAME is the name on the host).
 */
export function tableColumns(width: number, hostWidth = 0): Column[] {
  const host: Column[] = hostWidth > 0 ? [{ id: 'host', title: 'HOST', width: hostWidth, right: false, sort: null }] : [];
  let fixed = FIXED.slice();
  const nameWidth = (): number => width - 1 - [...host, ...fixed].reduce((n, c) => n + c.width + GAP, 0);
  for (const id of DROP) {
    if (nameWidth() >= MIN_NAME) break;
    fixed = fixed.filter((c) => c.id !== id);
  }
  return [...host, { id: 'name', title: 'NAME', width: Math.max(nameWidth(), 4), right: false, sort: 'name' }, ...fixed];
}

/** The CPU cell: the current percent and a sparkline of the last seconds; blank without figures. */
export function cpuCell(stats: VmLiveStats | undefined): string {
  const last = stats?.history.at(-1);
  if (!last) return '';
  return `${formatCpu(last.cpuPercent).padStart(4)} ${cpuSparkline([...stats!.history], CPU_SPARK)}`;
}

/** The text of a cell (the state cell is drawn by the row itself, with its colour). */
export function cellText(col: Column, vm: Vm, now: number, stats?: VmLiveStats): string {
  switch (col.id) {
    case 'host':
      return printable(vm.host);
    case 'name':
      // The host has its own column when there are several; a local VM's name has no host part.
      return printable(splitVmName(vm.name).vm);
    case 'backend':
      return vm.backend;
    case 'accel':
      return vm.accel;
    case 'cpus':
      return String(vm.cpus);
    case 'memory':
      return formatMiB(vm.memoryMiB);
    case 'uptime':
      return vm.state === 'stopped' ? '-' : formatUptime(vm.startedAt, now);
    case 'state':
      return vm.state;
    case 'cpu':
      return vm.state === 'stopped' ? '' : cpuCell(stats);
  }
}

/** A cell padded to its column. */
export function pad(col: Column, text: string): string {
  return col.right ? fitRight(text, col.width) : fit(text, col.width);
}

/** The gap between columns. */
export const COLUMN_GAP = ' '.repeat(GAP);
