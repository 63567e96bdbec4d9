import { Box, Text } from 'ink';
import { useRef, type ReactNode } from 'react';
import type { Vm } from '../../vm/types.js';
import { useConsolePane } from '../hooks/use-console-pane.js';
import { usePaneInput } from '../hooks/use-pane-input.js';
import { useTheme } from '../hooks/use-theme.js';
import type { PaneFactory, PaneFrame } from '../pane-adapter.js';
import { cleanText } from '../text.js';
import { Panel } from './Panel.js';
import { PaneScreen } from './PaneScreen.js';

/** The console escape key: the byte and how it is shown. */
export interface EscapeKey {
  byte: number;
  label: string;
}

/** Props of ConsolePane. */
export interface ConsolePaneProps {
  name: string;
  /** The VM, or undefined once it was deleted. */
  vm: Vm | undefined;
  width: number;
  height: number;
  focused: boolean;
  escape: EscapeKey;
  openPane: PaneFactory;
  command: (name: string) => { command: string; args: string[]; env?: Record<string, string> };
  /** The escape key was pressed: give the keys back to the table. */
  onLeave(): void;
}

// A frame from before a resize can be taller than the pane for one beat: show its bottom rows.
function fitRows(frame: PaneFrame, rows: number): PaneFrame {
  const extra = frame.lines.length - rows;
  if (extra <= 0) return frame;
  return { ...frame, lines: frame.lines.slice(extra), cursor: { ...frame.cursor, y: frame.cursor.y - extra } };
}

/** Whether a VM has a console to connect to. */
export function hasConsole(vm: Vm | undefined): boolean {
  return !!vm && vm.startedAt !== null && vm.state !== 'stopped' && vm.state !== 'error';
}

/**
 * The guest's serial console in a pane: `bento console NAME` runs in a pseudo-terminal and its
 * screen is drawn here. While focused every key goes to the guest except the escape key.
 */
export function ConsolePane(props: ConsolePaneProps): ReactNode {
  const { name, vm, width, height, focused, escape, openPane, command, onLeave } = props;
  const theme = useTheme();
  const cols = Math.max(width - 2, 2);
  const rows = Math.max(height - 2, 1);
  const live = hasConsole(vm);
  // The run this pane shows, kept after the VM stops so its last screen stays up.
  const run = useRef<string | null>(null);
  if (live && vm?.startedAt) run.current = vm.startedAt;
  const pane = useConsolePane(name, { isActive: live, runKey: run.current, cols, rows, openPane, command });
  usePaneInput({
    isActive: focused,
    escape: escape.byte,
    onData: (d) => {
      if (pane.phase === 'live') pane.write(d);
      else if ((pane.phase === 'closed' || pane.phase === 'failed') && d === '\r' && live) pane.reconnect();
    },
    onEscape: onLeave,
    onScroll: pane.scroll,
  });

  let right: string;
  if (pane.phase === 'live') right = focused ? `${escape.label} back` : 'Enter/Tab to type';
  else if (pane.phase === 'connecting') right = 'connecting…';
  else if (pane.phase === 'closed' || pane.phase === 'failed') right = live ? 'closed · Enter reconnects' : 'closed';
  else right = vm ? vm.state : 'deleted';

  let note: string | null = null;
  if (!vm) note = `${name} no longer exists. x closes this pane.`;
  else if (!live && !pane.frame) note = `${name} is ${vm.state}. Press s to start it; the console connects when it runs.`;
  else if (pane.phase === 'failed') note = `cannot open the console: ${pane.message ?? ''}`;
  else if (!pane.frame) note = `connecting to ${name}…`;

  return (
    <Panel title={`console · ${name}`} right={right} width={width} height={height} focused={focused}>
      {pane.frame && !(pane.phase === 'failed' && note) ? (
        <PaneScreen frame={fitRows(pane.frame, rows)} cursor={focused && pane.phase === 'live'} />
      ) : (
        <Box paddingLeft={1}>
          <Text color={pane.phase === 'failed' ? theme.error : theme.muted} wrap="wrap">
            {cleanText(note ?? '')}
          </Text>
        </Box>
      )}
    </Panel>
  );
}

