import { Box, Text } from 'ink';
import { memo, type ReactNode } from 'react';
import { LOCAL_HOST } from '../../vm/host-name.js';
import { COLUMN_GAP, pad, type Column } from '../table-columns.js';
import { fit } from '../text.js';
import { pullLabel, type PullView } from '../pulls.js';

/** Props of PullRow. */
export interface PullRowProps {
  pull: PullView;
  columns: Column[];
}

/**
 * The provisional row of a VM whose image is being pulled: its name where VM names go, then the
 * pull's progress across the columns it has no values for yet. Dim, and never selected.
 */
export const PullRow = memo(function PullRow({ pull, columns }: PullRowProps): ReactNode {
  // Up to the name column: the host (images are pulled for local VMs only) and the name.
  const lead = columns.findIndex((c) => c.id === 'name') + 1;
  const rest = columns.slice(lead);
  const room = rest.reduce((n, c) => n + c.width + COLUMN_GAP.length, 0) - COLUMN_GAP.length;
  const head = columns.slice(0, lead).map((c) => pad(c, c.id === 'host' ? LOCAL_HOST : pull.name)).join(COLUMN_GAP);
  const line = ` ${head}${COLUMN_GAP}${fit(`↓ ${pullLabel(pull)}`, Math.max(room, 0))}`;
  return (
    <Box height={1}>
      <Text wrap="truncate" dimColor>
        {line}
      </Text>
    </Box>
  );
});
