import { Box, Text } from 'ink';
import { useState, type ReactNode } from 'react';
import { useKeys } from '../hooks/use-keys.js';
import { useLogTail } from '../hooks/use-log-tail.js';
import { useTheme } from '../hooks/use-theme.js';
import { cleanText } from '../text.js';
import type { UiClient } from '../ui-client.js';
import { Panel } from './Panel.js';

/** Props of LogView. */
export interface LogViewProps {
  client: UiClient;
  name: string;
  width: number;
  height: number;
  focused: boolean;
  /** Bumps when bentod comes back, to reopen the stream. */
  epoch: number;
  onClose(): void;
}

/** Lines kept for scrolling back. */
export const LOG_LINES = 5000;

/**
 * A VM's serial log, scrollable: it follows new output at the bottom; scrolling up holds the view
 * still while output keeps arriving; G follows again.
 */
export function LogView({ client, name, width, height, focused, epoch, onClose }: LogViewProps): ReactNode {
  const theme = useTheme();
  const tail = useLogTail(client, name, { isActive: true, maxLines: LOG_LINES, maxFps: 20, epoch });
  // The absolute number of the line at the bottom of the view, or null to follow the end.
  const [anchor, setAnchor] = useState<number | null>(null);
  const visible = Math.max(height - 2, 1);
  const total = tail.dropped + tail.lines.length;
  const first = tail.dropped;
  const minBottom = Math.min(first + visible, total);
  const bottom = anchor === null ? total : Math.min(Math.max(anchor, minBottom), total);

  // Functional updates: several keys read together each move from where the previous one left.
  const move = (delta: number): void =>
    setAnchor((a) => {
      const from = a === null ? total : Math.min(Math.max(a, minBottom), total);
      const next = Math.min(Math.max(from + delta, minBottom), total);
      return next >= total ? null : next;
    });
  useKeys(
    (input, key) => {
      if (key.escape || input === 'q' || input === 'l') {
        onClose();
        return true;
      } else if (input === 'j' || key.downArrow) move(1);
      else if (input === 'k' || key.upArrow) move(-1);
      else if (key.pageDown || (key.ctrl && input === 'f') || input === ' ') move(visible - 1);
      else if (key.pageUp || (key.ctrl && input === 'b')) move(-(visible - 1));
      else if (input === 'g' || key.home) setAnchor(minBottom);
      else if (input === 'G' || key.end) setAnchor(null);
    },
    { isActive: focused, perChar: true },
  );

  const start = Math.max(bottom - visible, first) - first;
  const lines = tail.lines.slice(start, bottom - first);
  const right = anchor === null ? `following · ${total} lines` : `line ${bottom}/${total} · G follows`;
  return (
    <Panel title={`serial log · ${name}`} right={right} width={width} height={height} focused={focused}>
      {tail.error ? (
        <Text color={theme.error}> {cleanText(tail.error)}</Text>
      ) : lines.length === 0 ? (
        <Text color={theme.muted}> (the log is empty)</Text>
      ) : (
        <Box flexDirection="column" paddingLeft={1}>
          {lines.map((l, i) => (
            <Text key={i} wrap="truncate">
              {l || ' '}
            </Text>
          ))}
        </Box>
      )}
    </Panel>
  );
}
