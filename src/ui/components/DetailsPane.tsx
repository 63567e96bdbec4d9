import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { formatUptime } from '../../cli/format.js';
import { formatMiB } from '../../vm/size.js';
import type { Vm } from '../../vm/types.js';
import { secondClock } from '../clock.js';
import { useClock } from '../hooks/use-clock.js';
import type { LogTail } from '../hooks/use-log-tail.js';
import { useTheme } from '../hooks/use-theme.js';
import { cleanText, fit, fitStart } from '../text.js';
import { forwardText, guestText, hostRows, imageText, mountText, networkText, savedText, sshText, statsRows } from '../vm-details.js';
import type { VmLiveStats } from '../live-stats.js';
import { formatBytes } from '../pulls.js';
import { isLive, stateGlyph, stopCountdown } from '../vm-view.js';
import { Panel } from './Panel.js';
import type { SnapshotsState } from '../hooks/use-snapshots.js';
import { snapshotRows } from '../snapshot-view.js';

/** Props of DetailsPane. */
export interface DetailsPaneProps {
  vm: Vm | null;
  tail: LogTail;
  /** The VM's snapshots (newest first), when fetched. */
  snapshots?: SnapshotsState;
  width: number;
  height: number;
  /** The VM's live figures, while it runs. */
  stats?: VmLiveStats;
}

const LABEL = 9;
/** Snapshots listed in the pane; V lists them all. */
const SNAPSHOT_ROWS = 3;

/**
 * The selected VM: state and why, whether its guest answers, process, image or boot source, disks,
 * network, forwarded ports, SSH, folder, and its last serial lines.
 */
export function DetailsPane({ vm, tail, snapshots, stats, width, height }: DetailsPaneProps): ReactNode {
  const theme = useTheme();
  useClock(secondClock, { isActive: vm !== null && (isLive(vm) || vm.state === 'stopping') });
  const inner = Math.max(width - 4, 1);
  const rows = Math.max(height - 2, 0);
  if (!vm) {
    return (
      <Panel title="details" width={width} height={height} focused={false}>
        <Text color={theme.muted}> no VM selected</Text>
      </Panel>
    );
  }
  const s = vm.spec;
  const now = Date.now();
  const value = (text: string): string => fitStart(cleanText(text), inner - LABEL).trimEnd();
  const start = (text: string): string => fit(cleanText(text), inner - LABEL).trimEnd();
  // A third element narrows the label for a value that must show whole (a domain's UUID).
  const info: [string, ReactNode, number?][] = [];
  const left = stopCountdown(vm, now);
  info.push([
    'state',
    <Text key="s">
      <Text color={theme.state(vm.state)} bold>
        {stateGlyph(vm.state, 0)} {vm.state}
      </Text>
      {isLive(vm) ? ` for ${formatUptime(vm.startedAt, now)}` : ''}
      {left !== null ? <Text color={theme.warn}>{` · forced in ${left}s`}</Text> : null}
    </Text>,
  ]);
  if (vm.reason) info.push(['reason', <Text key="r" color={vm.state === 'error' ? theme.error : undefined}>{value(vm.reason)}</Text>]);
  // A libvirt host's VM: where it lives first, as the rest is what that host says.
  for (const [label, text] of hostRows(vm)) {
    if (label === 'host' && !vm.reachable) info.push([label, <Text key="h" color={theme.error}>{value(text)}</Text>]);
    else if (label === 'uuid' && text.length > inner - LABEL) info.push([label, fit(text, inner - label.length - 1).trimEnd(), label.length + 1]);
    else info.push([label, start(text)]);
  }
  const saved = savedText(vm, formatBytes);
  if (saved) info.push(['saved', value(saved)]);
  const guest = guestText(vm);
  if (guest) info.push(['guest', <Text key="g" color={vm.ready ? theme.ok : theme.muted}>{guest}</Text>]);
  info.push(['process', `${vm.pid ?? '-'} · ${vm.backend}/${vm.accel}${s.accel === 'auto' ? ' (auto)' : ''}`]);
  info.push(['size', `${vm.cpus} cpu${vm.cpus === 1 ? '' : 's'} · ${formatMiB(vm.memoryMiB)} memory`]);
  // Live figures while it runs; the sparklines take what the line leaves after its figures.
  if (isLive(vm)) for (const [label, text] of statsRows(stats, Math.min(20, Math.max(inner - LABEL - 30, 4)), inner - LABEL)) info.push([label, fit(text, inner - LABEL).trimEnd()]);
  const image = imageText(s);
  if (image) info.push(['image', value(image)]);
  if (s.kernel) info.push(['kernel', value(s.kernel)]);
  if (s.initrd) info.push(['initrd', value(s.initrd)]);
  if (s.cmdline) info.push(['cmdline', value(s.cmdline)]);
  s.disks.forEach((d, i) => info.push([`disk${s.disks.length > 1 ? ` ${i}` : ''}`, value(`${d.path} (${d.format}${d.readonly ? ', ro' : ''})`)]));
  if (s.iso) info.push(['iso', value(s.iso)]);
  // One line for the network and the MAC (a VM without a network card has none to show); the mode
  // first, as the SSH address below: in a narrow pane the start is what is kept.
  info.push(['network', start(s.network === 'none' ? networkText(s) : `${networkText(s)} · mac ${s.mac}`)]);
  if (s.publish.length) info.push(['publish', value(s.publish.map(forwardText).join(', '))]);
  (s.mounts ?? []).forEach((m, i) => info.push([`mount${s.mounts.length > 1 ? ` ${i}` : ''}`, value(mountText(m))]));
  const ssh = sshText(vm);
  if (ssh) info.push(['ssh', start(ssh)]);
  info.push(['folder', value(vm.dir)]);
  // Only a VM with snapshots (or a failed read) spends rows on them: the serial lines below matter more.
  if (snapshots && snapshots.name === vm.name && (snapshots.list?.length || snapshots.error)) {
    snapshotRows(snapshots.list, snapshots.error, SNAPSHOT_ROWS, now).forEach((line, i) => info.push([i === 0 ? 'snapshot' : '', start(line)]));
  }

  const shownInfo = info.slice(0, rows);
  const logRows = rows - shownInfo.length - 1;
  const lines = logRows > 0 ? tail.lines.slice(-logRows) : [];
  return (
    <Panel title={`details · ${vm.name}`} width={width} height={height} focused={false}>
      {shownInfo.map(([label, v, labelW], i) => (
        <Box key={`${i}-${label}`} paddingLeft={1}>
          <Box width={labelW ?? LABEL} flexShrink={0}>
            <Text color={theme.muted}>{label}</Text>
          </Box>
          <Text wrap="truncate">{v}</Text>
        </Box>
      ))}
      {logRows > 0 ? (
        <Box flexDirection="column" paddingLeft={1}>
          <Text color={theme.muted} wrap="truncate">
            {`── serial ${tail.error ? `(${cleanText(tail.error)}) ` : ''}`.padEnd(inner, '─')}
          </Text>
          {lines.length === 0 && !tail.error ? <Text color={theme.muted}>(no output yet)</Text> : null}
          {lines.map((l, i) => (
            <Text key={i} wrap="truncate">
              {l || ' '}
            </Text>
          ))}
        </Box>
      ) : null}
    </Panel>
  );
}
