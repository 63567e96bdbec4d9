import { Box, Text } from 'ink';
import { printable } from '../text.js';
import type { ReactNode } from 'react';
import { useTheme } from '../hooks/use-theme.js';

/** Props of Dialog. */
export interface DialogProps {
  title: string;
  width: number;
  /** The screen it is centred on. */
  screen: { cols: number; rows: number };
  /** Its expected height, for centring (it grows with its content). */
  height: number;
  footer?: ReactNode;
  tone?: 'normal' | 'danger';
  children?: ReactNode;
}

// Ink fills a box's background with spaces run through the colour; an unknown colour name leaves
// them plain. Plain spaces blank out what is under the dialog, with or without NO_COLOR.
const PLAIN_FILL = 'plain';

/** A modal box centred over the screen; what is under it is blanked. */
export function Dialog({ title, width, screen, height, footer, tone = 'normal', children }: DialogProps): ReactNode {
  const theme = useTheme();
  const w = Math.min(width, screen.cols);
  const color = tone === 'danger' ? theme.error : theme.borderFocus;
  return (
    <Box
      position="absolute"
      marginTop={Math.max(Math.floor((screen.rows - height) / 3), 1)}
      marginLeft={Math.max(Math.floor((screen.cols - w) / 2), 0)}
      width={w}
      flexDirection="column"
      borderStyle={theme.color ? 'round' : 'double'}
      borderColor={color}
      backgroundColor={PLAIN_FILL}
      paddingX={1}
    >
      <Text bold color={color} wrap="truncate">
        {printable(title)}
      </Text>
      <Text> </Text>
      {children}
      {footer ? (
        <Box marginTop={1}>
          <Text color={theme.muted} wrap="truncate">
            {footer}
          </Text>
        </Box>
      ) : null}
    </Box>
  );
}
