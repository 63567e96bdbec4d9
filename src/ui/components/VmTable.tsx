import { Box, Text } from 'ink';
import { useMemo, useRef, type ReactNode } from 'react';
import type { Vm } from '../../vm/types.js';
import { secondClock, spinnerClock } from '../clock.js';
import { useClock } from '../hooks/use-clock.js';
import { useTheme } from '../hooks/use-theme.js';
import { scrollOffset, tableRows } from '../layout.js';
import type { PullView } from '../pulls.js';
import { COLUMN_GAP, hostColumnWidth, pad, tableColumns } from '../table-columns.js';
import { isLive, isTransitional, type Sort } from '../vm-view.js';
import { Panel } from './Panel.js';
import { PullRow } from './PullRow.js';
import { VmRow } from './VmRow.js';
import type { VmLiveStats } from '../live-stats.js';

/** Props of VmTable. */
export interface VmTableProps {
  rows: readonly Vm[];
  /** Image pulls for VMs not defined yet, shown as provisional rows above the VMs. */
  pulls: readonly PullView[];
  /** Names of the marked VMs (Space). */
  marks?: readonly string[];
  /** Index of the selected row, -1 when none. */
  selected: number;
  total: number;
  sort: Sort;
  filter: string;
  editingFilter: boolean;
  loaded: boolean;
  focused: boolean;
  width: number;
  height: number;
  /** Live figures per VM, for the CPU column. */
  stats?: ReadonlyMap<string, VmLiveStats>;
  /** Every host known: with more than one, a HOST column comes first. */
  hosts?: readonly string[];
  /** The host the table is limited to (`H`), or null for all. */
  host?: string | null;
}

/**
 * The VM list. Only the rows that fit are rendered (a window that follows the selection), so a
 * keypress costs the same with 10 VMs or 1000; the clocks run only while a visible row needs them.
 */
export function VmTable(props: VmTableProps): ReactNode {
  const { rows, pulls, selected, total, sort, filter, editingFilter, loaded, focused, width, height } = props;
  const theme = useTheme();
  const fits = tableRows(height);
  // Pulls take the top rows, at most half of them: the VMs stay in sight.
  const shownPulls = pulls.slice(0, Math.max(Math.floor(fits / 2), Math.min(pulls.length, 1)));
  const visible = Math.max(fits - shownPulls.length, 0);
  const offsetRef = useRef(0);
  const offset = scrollOffset(offsetRef.current, Math.max(selected, 0), visible, rows.length);
  offsetRef.current = offset;
  const window = rows.slice(offset, offset + visible);
  const moving = (v: Vm): boolean => v.reachable && isTransitional(v.state);
  const animate = window.some(moving);
  const ticking = window.some((v) => isLive(v) || v.state === 'stopping');
  const spin = useClock(spinnerClock, { isActive: animate });
  const sec = useClock(secondClock, { isActive: ticking });
  const hosts = props.hosts ?? [];
  const hostWidth = hosts.length > 1 ? hostColumnWidth(hosts) : 0;
  const columns = useMemo(() => tableColumns(width - 3, hostWidth), [width, hostWidth]);

  const header = columns
    .map((c) => pad(c, c.sort === sort.key ? `${c.title}${sort.desc ? '↓' : '↑'}` : c.title))
    .join(COLUMN_GAP);
  const marked = props.marks?.length ? ` · ${props.marks.length} marked` : '';
  const on = props.host ? `VMs on ${props.host}` : 'VMs';
  const title = (editingFilter ? `${on} /${filter}▏` : filter ? `${on} /${filter}` : on) + marked;
  const right = rows.length ? `${selected + 1}/${rows.length}${rows.length !== total ? ` of ${total}` : ''}` : `0/${total}`;

  let empty: string | null = null;
  if (!loaded) empty = 'connecting to bentod…';
  else if (shownPulls.length) empty = null;
  else if (total === 0) empty = 'No VMs yet. Press n to create one.';
  else if (rows.length === 0) empty = filter ? `No VM matches /${filter} (Esc clears the filter)` : `No VMs on ${props.host ?? 'this host'} (H shows the next host, Esc all of them)`;

  return (
    <Panel title={title} right={right} width={width} height={height} focused={focused}>
      <Text bold color={theme.muted} wrap="truncate">
        {` ${header}`}
      </Text>
      {empty ? (
        <Box paddingLeft={1}>
          <Text color={theme.muted}>{empty}</Text>
        </Box>
      ) : (
        <>
          {shownPulls.map((p) => (
            <PullRow key={`pull:${p.name}`} pull={p} columns={columns} />
          ))}
          {window.map((vm, i) => (
            <VmRow
              key={vm.name}
              vm={vm}
              columns={columns}
              selected={offset + i === selected}
              marked={props.marks?.includes(vm.name) ?? false}
              focused={focused}
              spin={moving(vm) ? spin : 0}
              sec={isLive(vm) || vm.state === 'stopping' ? sec : 0}
              stats={props.stats?.get(vm.name)}
            />
          ))}
        </>
      )}
    </Panel>
  );
}
