import { Box, Text } from 'ink';
import { useMemo, type ReactNode } from 'react';
import type { HostInfo, VersionInfo, Vm } from '../../vm/types.js';
import { hostLine, type HostTone } from '../host-view.js';
import type { Theme } from '../theme.js';
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
  /** Every host with its connection state: with more than one, a second line shows them. */
  hosts?: readonly HostInfo[];
  /** The host the table is limited to (`H`), or null. */
  hostFilter?: string | null;
}

/** Lines the header takes: one, and one more for the hosts when there are several. */
export function headerLines(hosts: number): number {
  return hosts > 1 ? 2 : 1;
}

function toneColor(theme: Theme, tone: HostTone): string | undefined {
  return tone === null ? undefined : theme[tone];
}

/** The host line: `hosts local ● · lab1 ● connected · lab3 ✗ unreachable: REASON (retry in 4s)`, fitted to the width. */
function HostLine({ hosts, width, filter }: { hosts: readonly HostInfo[]; width: number; filter: string | null }): ReactNode {
  const theme = useTheme();
  // The retry countdowns are what moves here.
  useClock(secondClock, { isActive: hosts.some((h) => h.state === 'unreachable' && h.retryAt !== null) });
  const segs = hostLine(hosts, width, Date.now(), filter);
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate">
        {segs.map((s, i) => (
          <Text key={i} color={toneColor(theme, s.tone)} inverse={s.selected} bold={s.selected}>
            {s.text}
          </Text>
        ))}
      </Text>
    </Box>
  );
}

/** The top line: bentod's status, the host accelerator, VM counts by state, pulls for new VMs. */
export function Header({ conn, version, vms, pulls = 0, width, hosts = [], hostFilter = null }: HeaderProps): ReactNode {
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
    <Box flexDirection="column" width={width} height={headerLines(hosts.length)}>
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
          {counts.unreachable ? <Text color={theme.muted}>{` · ${counts.unreachable} unreachable`}</Text> : null}
          {pulls ? <Text color={theme.muted}>{` · ${pulls} pulling`}</Text> : null}
        </Text>
      </Box>
      {hosts.length > 1 ? <HostLine hosts={hosts} width={width} filter={hostFilter} /> : null}
    </Box>
  );
}
