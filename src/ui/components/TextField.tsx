import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { useTheme } from '../hooks/use-theme.js';
import { cleanText, wrapWords } from '../text.js';

/** Props of TextField. */
export interface TextFieldProps {
  label: string;
  labelWidth: number;
  value: string;
  /** Cursor position; shown only when focused. */
  cursor: number;
  focused: boolean;
  /** Cells for the value. */
  width: number;
  /** Shown dim when the field is empty (a choice field: always) and has no error. */
  hint?: string;
  error?: string;
  /** A choice field shows ‹ value › instead of a text cursor. */
  choice?: boolean;
  /** Cells for the error or hint beside the value. */
  noteWidth: number;
}

/** One form row: label, value (with a cursor when focused), and its error or hint beside it. */
export function TextField({ label, labelWidth, value, cursor, focused, width, hint, error, choice, noteWidth }: TextFieldProps): ReactNode {
  const theme = useTheme();
  let body: ReactNode;
  if (choice) {
    body = (
      <Text>
        <Text color={theme.muted}>‹ </Text>
        <Text bold={focused}>{value}</Text>
        <Text color={theme.muted}> ›</Text>
      </Text>
    );
  } else {
    // Long values scroll so the cursor stays in view; the padding shows the field's extent.
    const room = Math.max(width - 1, 1);
    const start = focused ? Math.max(0, cursor - room + 1) : 0;
    const shown = value.slice(start, start + room).padEnd(room + 1);
    const c = cursor - start;
    body = focused ? (
      <Text>
        {shown.slice(0, c)}
        <Text inverse>{shown[c] ?? ' '}</Text>
        {shown.slice(c + 1)}
      </Text>
    ) : (
      <Text>{shown}</Text>
    );
  }
  return (
    <Box>
      <Box width={labelWidth} flexShrink={0}>
        <Text bold={focused} color={focused ? theme.accent : undefined}>
          {focused ? '› ' : '  '}
          {label}
        </Text>
      </Box>
      <Box width={width} flexShrink={0}>
        <Text underline={!choice} wrap="truncate">
          {body}
        </Text>
      </Box>
      <Box width={noteWidth} marginLeft={1} flexDirection="column">
        {error ? (
          wrapWords(`✗ ${cleanText(error)}`, noteWidth).map((l, i) => (
            <Text key={i} color={theme.error}>
              {l}
            </Text>
          ))
        ) : (!value || choice) && hint ? (
          <Text color={theme.muted} wrap="truncate">
            {hint}
          </Text>
        ) : null}
      </Box>
    </Box>
  );
}
