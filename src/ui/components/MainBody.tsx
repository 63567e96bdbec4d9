import { Box } from 'ink';
import type { ReactNode } from 'react';
import type { Vm } from '../../vm/types.js';
import type { LogTail } from '../hooks/use-log-tail.js';
import type { Layout } from '../layout.js';
import type { PaneFactory } from '../pane-adapter.js';
import type { PullView } from '../pulls.js';
import type { UiClient } from '../ui-client.js';
import type { ViewState } from '../view-state.js';
import type { Sort } from '../vm-view.js';
import { ConsolePane, type EscapeKey } from './ConsolePane.js';
import { DetailsPane } from './DetailsPane.js';
import type { SnapshotsState } from '../hooks/use-snapshots.js';
import { LogView } from './LogView.js';
import { VmTable } from './VmTable.js';
import type { VmLiveStats } from '../live-stats.js';

/** Props of MainBody. */
export interface MainBodyProps {
  layout: Layout;
  view: ViewState;
  rows: readonly Vm[];
  /** Names of the marked VMs. */
  marks: readonly string[];
  pulls: readonly PullView[];
  selIndex: number;
  selected: Vm | null;
  total: number;
  sort: Sort;
  loaded: boolean;
  vms: ReadonlyMap<string, Vm>;
  /** Live figures per VM (the table's CPU column, the details pane). */
  stats?: ReadonlyMap<string, VmLiveStats>;
  /** Every host known (the table's HOST column shows with more than one). */
  hosts?: readonly string[];
  tail: LogTail;
  /** The selected VM's snapshots, for the details pane. */
  snapshots?: SnapshotsState;
  /** Whether a dialog has the keys (then no pane does). */
  dialogOpen: boolean;
  client: UiClient;
  epoch: number;
  escape: EscapeKey;
  openPane: PaneFactory;
  consoleCommand: (name: string) => { command: string; args: string[]; env?: Record<string, string> };
  leaveConsole(): void;
  closeLog(): void;
}

/**
 * The panes between the hint bar and the status line. The console pane keeps its place in the tree
 * whatever the arrangement (split, beside, full screen, hidden behind the log), so switching views
 * never restarts its console client.
 */
export function MainBody(p: MainBodyProps): ReactNode {
  const { layout: l, view } = p;
  const keys = !p.dialogOpen;
  const mainShown = l.table !== null || l.details !== null;
  const detailsBeside = l.details !== null && (l.arrangement === 'details-right' || l.arrangement === 'console-below');
  // While hidden (log open) the console keeps a plausible size, so its client is not resized for nothing.
  const consoleRect = l.console ?? { w: l.cols, h: Math.max(Math.floor(l.bodyH / 2), 3) };
  return (
    <Box flexDirection={l.arrangement === 'console-right' ? 'row' : 'column'} width={l.cols} height={l.bodyH}>
      {l.log && view.log ? (
        <LogView
          key="log"
          client={p.client}
          name={view.log.name}
          width={l.log.w}
          height={l.log.h}
          focused={keys && view.focus === 'log'}
          epoch={p.epoch}
          onClose={p.closeLog}
        />
      ) : null}
      <Box key="main" display={mainShown ? 'flex' : 'none'} flexDirection={detailsBeside ? 'row' : 'column'} flexShrink={0}>
        {l.table ? (
          <VmTable
            rows={p.rows}
            marks={p.marks}
            pulls={p.pulls}
            selected={p.selIndex}
            total={p.total}
            sort={p.sort}
            filter={view.filter}
            editingFilter={view.focus === 'filter'}
            loaded={p.loaded}
            focused={keys && (view.focus === 'table' || view.focus === 'filter')}
            width={l.table.w}
            height={l.table.h}
            stats={p.stats}
            hosts={p.hosts}
            host={view.host}
          />
        ) : null}
        {l.details ? (
          <DetailsPane
            vm={p.selected}
            tail={p.tail}
            snapshots={p.snapshots}
            stats={p.selected ? p.stats?.get(p.selected.name) : undefined}
            width={l.details.w}
            height={l.details.h}
          />
        ) : null}
      </Box>
      {view.console ? (
        <Box key="console" display={l.console ? 'flex' : 'none'} flexShrink={0}>
          <ConsolePane
            name={view.console.name}
            vm={p.vms.get(view.console.name)}
            width={consoleRect.w}
            height={consoleRect.h}
            focused={keys && view.focus === 'console'}
            escape={p.escape}
            openPane={p.openPane}
            command={p.consoleCommand}
            onLeave={p.leaveConsole}
          />
        </Box>
      ) : null}
    </Box>
  );
}
