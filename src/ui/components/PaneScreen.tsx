import { Box, Text } from 'ink';
import { memo, type ReactNode } from 'react';
import type { PaneColor, PaneRun } from '../../console/pane.js';
import { useTheme } from '../hooks/use-theme.js';
import type { PaneFrame } from '../pane-adapter.js';

/** Props of PaneScreen. */
export interface PaneScreenProps {
  frame: PaneFrame;
  /** Draw the cursor (the pane has the keys). */
  cursor: boolean;
}

const NAMED = ['black', 'red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white'];
// Cell text comes from the terminal emulator and should be printable already; a stray control
// character must still never reach the real terminal, so it becomes a space (same width).
// eslint-disable-next-line no-control-regex -- matching control bytes is the point
const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;

function inkColor(c: PaneColor): string | undefined {
  if (c === null) return undefined;
  if (typeof c === 'string') return c;
  if (c < 8) return NAMED[c];
  if (c < 16) return `${NAMED[c - 8]}Bright`;
  return `ansi256(${c})`;
}

function Run({ run, color, cursor }: { run: PaneRun; color: boolean; cursor?: boolean }): ReactNode {
  const text = run.text.replace(CONTROL, ' ');
  return (
    <Text
      color={color ? inkColor(run.fg) : undefined}
      backgroundColor={color ? inkColor(run.bg) : undefined}
      bold={run.bold}
      italic={run.italic}
      underline={run.underline}
      dimColor={run.dim}
      inverse={cursor ? !run.inverse : run.inverse}
    >
      {text}
    </Text>
  );
}

function splitAt(runs: PaneRun[], x: number): { before: PaneRun[]; at: PaneRun | null; after: PaneRun[] } {
  const before: PaneRun[] = [];
  const after: PaneRun[] = [];
  let at: PaneRun | null = null;
  let col = 0;
  for (const r of runs) {
    const chars = [...r.text];
    if (at || col + chars.length <= x) {
      (at ? after : before).push(r);
      col += chars.length;
      continue;
    }
    const i = x - col;
    if (i > 0) before.push({ ...r, text: chars.slice(0, i).join('') });
    at = { ...r, text: chars[i] ?? ' ' };
    if (i + 1 < chars.length) after.push({ ...r, text: chars.slice(i + 1).join('') });
    col += chars.length;
  }
  return { before, at: at ?? { ...(runs[runs.length - 1] ?? blank), text: ' ' }, after };
}

const blank: PaneRun = { text: ' ', fg: null, bg: null, bold: false, italic: false, underline: false, inverse: false, dim: false };

/** A pane's terminal screen: each line as styled runs, the cursor as an inverted cell. */
export const PaneScreen = memo(function PaneScreen({ frame, cursor }: PaneScreenProps): ReactNode {
  const theme = useTheme();
  return (
    <Box flexDirection="column">
      {frame.lines.map((runs, y) => {
        if (cursor && frame.cursor.visible && frame.cursor.y === y) {
          const { before, at, after } = splitAt(runs, frame.cursor.x);
          return (
            <Text key={y} wrap="truncate">
              {before.map((r, i) => (
                <Run key={`b${i}`} run={r} color={theme.color} />
              ))}
              {at ? <Run run={at} color={theme.color} cursor /> : null}
              {after.map((r, i) => (
                <Run key={`a${i}`} run={r} color={theme.color} />
              ))}
            </Text>
          );
        }
        return (
          <Text key={y} wrap="truncate">
            {runs.map((r, i) => (
              <Run key={i} run={r} color={theme.color} />
            ))}
          </Text>
        );
      })}
    </Box>
  );
});
