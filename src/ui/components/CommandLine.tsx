import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { useLineInput } from '../hooks/use-line-input.js';
import { useTheme } from '../hooks/use-theme.js';

/** Props of CommandLine. */
export interface CommandLineProps {
  width: number;
  history: readonly string[];
  isActive: boolean;
  onSubmit(line: string): void;
  onCancel(): void;
}

/** The `:` line at the bottom (where the status line is): a bento command, Enter runs it, Esc cancels. */
export function CommandLine({ width, history, isActive, onSubmit, onCancel }: CommandLineProps): ReactNode {
  const theme = useTheme();
  const { text, cursor } = useLineInput({ isActive, history, onSubmit, onCancel });
  const room = Math.max(width - 3, 1);
  const start = Math.max(0, cursor - room + 1);
  const shown = text.slice(start, start + room);
  const at = cursor - start;
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate">
        <Text bold color={theme.accent}>
          :
        </Text>
        {shown.slice(0, at)}
        <Text inverse>{shown[at] ?? ' '}</Text>
        {shown.slice(at + 1)}
      </Text>
    </Box>
  );
}
