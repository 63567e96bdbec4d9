import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { useTheme } from '../hooks/use-theme.js';
import { cleanText } from '../text.js';
import type { Status } from '../view-state.js';

/** Props of StatusLine. */
export interface StatusLineProps {
  status: Status | null;
  width: number;
}

/** The one line for messages and errors (k9s's flash line). */
export function StatusLine({ status, width }: StatusLineProps): ReactNode {
  const theme = useTheme();
  if (!status) return <Box width={width} height={1} />;
  const error = status.kind === 'error';
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate" color={error ? theme.error : theme.ok} bold={error}>
        {error ? '✗ ' : '› '}
        {cleanText(status.text)}
      </Text>
    </Box>
  );
}
