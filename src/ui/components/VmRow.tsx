import { Box, Text, Transform } from 'ink';
import { memo, type ReactNode } from 'react';
import type { Vm } from '../../vm/types.js';
import { useTheme } from '../hooks/use-theme.js';
import { COLUMN_GAP, cellText, pad, type Column } from '../table-columns.js';
import type { VmLiveStats } from '../live-stats.js';
import { sparkFromAscii, sparkToAscii } from '../stats-format.js';
import { READY_MARK, readiness, stateLabel } from '../vm-view.js';

/** Props of VmRow. */
export interface VmRowProps {
  vm: Vm;
  columns: Column[];
  selected: boolean;
  /** Marked with Space: shown as `*` where the selection shows `>`. */
  marked?: boolean;
  focused: boolean;
  /** Spinner frame; only changes for rows in a transitional state. */
  spin: number;
  /** Second tick; only changes for rows whose uptime or countdown moves. */
  sec: number;
  /** Live figures (a new object only when this VM's arrive). */
  stats?: VmLiveStats;
}

/** One VM in the table: a single line, the state coloured; memoised so unchanged rows are not rebuilt. */
export const VmRow = memo(function VmRow({ vm, columns, selected, marked, focused, spin, stats }: VmRowProps): ReactNode {
  const theme = useTheme();
  const now = Date.now();
  // The mark keeps the selection visible without colour and without focus.
  let before = marked ? '*' : selected ? '>' : ' ';
  let state = '';
  let after = '';
  // The CPU cell (last) is a node of its own: its sparkline glyphs would take the ASCII fast path from `after`.
  let cpu = '';
  let seenState = false;
  // A running guest's readiness is a mark of its own beside the state, inside the state column.
  const ready = vm.reachable ? readiness(vm) : null;
  for (const col of columns) {
    const sep = col === columns[0] ? '' : COLUMN_GAP;
    if (col.id === 'state') {
      before += sep;
      const label = stateLabel(vm, spin, now);
      if (ready) {
        state = `${label} `;
        after = ' '.repeat(Math.max(col.width - label.length - 2, 0));
      } else state = pad(col, label);
      seenState = true;
    } else if (col.id === 'cpu') cpu = sep + pad(col, cellText(col, vm, now, stats));
    else if (seenState) after += sep + pad(col, cellText(col, vm, now, stats));
    else before += sep + pad(col, cellText(col, vm, now, stats));
  }
  // Separate text nodes, not one: Ink measures each node's width, and ASCII-only text takes a fast
  // path that the glyphs of the state cell would otherwise deny to the whole line.
  const inverse = selected && focused;
  const bold = selected && !focused;
  // A VM of an unreachable host: what is shown is what bento last knew, so the whole row is dim.
  const dim = !vm.reachable;
  return (
    <Box height={1}>
      <Text wrap="truncate" inverse={inverse} bold={bold} dimColor={dim}>
        {before}
      </Text>
      <Text wrap="truncate" inverse={inverse} bold={bold} dimColor={dim} color={dim ? theme.muted : theme.state(vm.state)}>
        {state}
      </Text>
      {ready ? (
        <Text wrap="truncate" inverse={inverse} bold={bold} color={ready === 'ready' ? theme.ok : theme.muted} dimColor={ready === 'booting'}>
          {READY_MARK[ready]}
        </Text>
      ) : null}
      <Text wrap="truncate" inverse={inverse} bold={bold} dimColor={dim}>
        {after}
      </Text>
      {cpu ? (
        // Laid out in ASCII, drawn with glyphs: Ink measures text on every frame and the glyphs' width
        // is slow to measure. The cell never overflows (the column is dropped before the row could).
        <Transform transform={sparkFromAscii}>
          <Text inverse={inverse} bold={bold} dimColor={dim}>
            {sparkToAscii(cpu)}
          </Text>
        </Transform>
      ) : null}
    </Box>
  );
});
