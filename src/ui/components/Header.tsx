import { Box, Text } from 'ink';
import { useMemo, type ReactNode } from 'react';
import type { VersionInfo, Vm } from '../../vm/types.js';
import { secondClock } from '../clock.js';
import { useClock } from '../hooks/use-clock.js';
import { useTheme } from '../hooks/use-theme.js';
import { cleanText } from '../text.js';
import { STATE_ORDER, countByState } from '../vm-view.js';
import type { Connection } from '../vm-store.js';

/** Props of Header. */
export interface HeaderProps {
  conn: Connection;
  version: VersionInfo | null;
  vms: ReadonlyMap<string, Vm>;
  /** Image pulls under way for VMs not defined yet. */
  pulls?: number;
  width: number;
}

/** The top line: bentod's status, the host accelerator, VM counts by state, pulls for new VMs. */
export function Header({ conn, version, vms, pulls = 0, width }: HeaderProps): ReactNode {
  const theme = useTheme();
  const counts = useMemo(() => countByState(vms.values()), [vms]);
  // The retry countdown is the only thing that moves here, and only while bentod is away.
  useClock(secondClock, { isActive: conn.status === 'lost' && conn.retryAt !== null });
  const parts = STATE_ORDER.filter((s) => counts[s] > 0).map((s) => ({ s, n: counts[s] }));

  let link: ReactNode;
  if (conn.status === 'live') {
    link = (
      <Text>
        <Text color={theme.ok}>●</Text> bentod
        {version ? <Text color={theme.muted}> {version.version}</Text> : null}
      </Text>
    );
  } else if (conn.status === 'connecting') {
    link = <Text color={theme.warn}>… connecting to bentod</Text>;
  } else {
    const wait = conn.retryAt === null ? 'reconnecting…' : `retry in ${Math.max(0, Math.ceil((conn.retryAt - Date.now()) / 1000))}s · R starts it`;
    link = (
      <Text>
        <Text color={theme.error} bold inverse={!theme.color}>
          ✗ bentod is not running
        </Text>
        <Text color={theme.warn}> {wait} </Text>
        <Text color={theme.muted}>({cleanText(conn.error)})</Text>
      </Text>
    );
  }

  return (
    <Box width={width} height={1}>
      <Text wrap="truncate">
        <Text bold color={theme.accent} inverse={!theme.color}>
          {' bento '}
        </Text>{' '}
        {link}
        {version && conn.status === 'live' ? <Text color={theme.muted}>{`  accel ${version.defaultAccel}`}</Text> : null}
        {'  '}
        <Text bold>{vms.size}</Text>
        {` VM${vms.size === 1 ? '' : 's'}`}
        {parts.map(({ s, n }) => (
          <Text key={s}>
            <Text color={theme.muted}>{' · '}</Text>
            <Text color={theme.state(s)}>
              {n} {s}
            </Text>
          </Text>
        ))}
        {pulls ? <Text color={theme.muted}>{` · ${pulls} pulling`}</Text> : null}
      </Text>
    </Box>
  );
}
