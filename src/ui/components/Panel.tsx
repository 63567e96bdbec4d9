import { Box, Text } from 'ink';
import { printable } from '../text.js';
import type { ReactNode } from 'react';
import { useTheme } from '../hooks/use-theme.js';

/** Props of Panel. */
export interface PanelProps {
  title: string;
  /** Text at the right end of the top border (counts, scroll position). */
  right?: string;
  width: number;
  height: number;
  focused: boolean;
  children?: ReactNode;
}

const CORNERS = {
  round: ['╭', '╮', '─'],
  double: ['╔', '╗', '═'],
  bold: ['┏', '┓', '━'],
} as const;

/** A bordered pane with its title in the top border, k9s style; children get width-2 x height-2. */
export function Panel({ title, right, width, height, focused, children }: PanelProps): ReactNode {
  const theme = useTheme();
  const style = focused ? theme.focusStyle : 'round';
  const [tl, tr, h] = CORNERS[style];
  const color = focused ? theme.borderFocus : theme.border;
  const inner = Math.max(width - 2, 0);
  const label = ` ${printable(title)} `;
  const tail = right ? ` ${right} ` : '';
  const room = Math.max(inner - 1 - tail.length, 0);
  const shown = label.length > room ? `${label.slice(0, Math.max(room - 1, 0))}…` : label;
  const fill = Math.max(inner - 1 - shown.length - tail.length, 0);
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate">
        <Text color={color}>{tl + h}</Text>
        <Text bold={focused} color={focused ? theme.accent : undefined}>
          {shown}
        </Text>
        <Text color={color}>{h.repeat(fill)}</Text>
        <Text color={theme.muted}>{tail}</Text>
        <Text color={color}>{tr}</Text>
      </Text>
      {/* Keyed by the border style: Ink applies a changed borderStyle without the borderTop={false}
          beside it and would leave a blank line at the top; a fresh box gets all of its styles. */}
      <Box
        key={style}
        flexDirection="column"
        width={width}
        height={height - 1}
        borderStyle={style}
        borderTop={false}
        borderColor={color}
      >
        {children}
      </Box>
    </Box>
  );
}
