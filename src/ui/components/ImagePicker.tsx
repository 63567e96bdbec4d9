import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { ImagesState } from '../hooks/use-images.js';
import { useTheme } from '../hooks/use-theme.js';
import type { ImageChoice } from '../image-choices.js';
import { cleanText, fit } from '../text.js';

/** Props of ImagePicker. */
export interface ImagePickerProps {
  images: ImagesState;
  /** The choices that match what is typed. */
  matches: readonly ImageChoice[];
  /** The highlighted one, -1 for none. */
  pick: number;
  typed: string;
  /** Where the list starts (under the field's value) and how wide it is. */
  indent: number;
  width: number;
  /** At most this many lines. */
  rows: number;
}

/** How many lines the picker takes at most. */
export const PICKER_ROWS = 5;

/** The list under the image field: pulled images (●) first, then the catalog's; the highlight is inverse. */
export function ImagePicker({ images, matches, pick, typed, indent, width, rows }: ImagePickerProps): ReactNode {
  const theme = useTheme();
  const note = (text: string): ReactNode => (
    <Box paddingLeft={indent}>
      <Text color={theme.muted} wrap="truncate">
        {fit(text, width).trimEnd()}
      </Text>
    </Box>
  );
  if (images.status === 'loading' && !matches.length) return note('loading the image list…');
  if (images.status === 'failed') return note(`no image list (${cleanText(images.message)}): type a catalog id, a path or a URL`);
  if (!matches.length) return note(typed.trim() ? 'no image matches: a path or URL is taken as typed' : 'no images known: type a path or URL');
  const more = matches.length > rows;
  const window = more ? rows - 1 : rows;
  const offset = Math.min(Math.max(pick - window + 1, 0), Math.max(matches.length - window, 0));
  const shown = matches.slice(offset, offset + window);
  const valueW = Math.min(Math.max(...shown.map((c) => c.value.length)) + 1, Math.max(Math.floor(width / 2), 8));
  const hidden = matches.length - offset - shown.length;
  // The highlight's › sits in the label column, left of the list, as the focused field's does.
  return (
    <Box flexDirection="column" paddingLeft={Math.max(indent - 2, 0)}>
      {shown.map((c, i) => {
        const on = offset + i === pick;
        return (
          <Text key={c.value} wrap="truncate">
            <Text bold color={theme.accent}>
              {on ? '› ' : '  '}
            </Text>
            <Text inverse={on} color={c.pulled ? theme.ok : undefined}>
              {c.pulled ? '● ' : '  '}
            </Text>
            <Text inverse={on} bold={on}>
              {fit(cleanText(c.value), valueW)}
            </Text>
            <Text inverse={on} color={on ? undefined : theme.muted}>
              {fit(cleanText(c.note), Math.max(width - valueW - 3, 0))}
            </Text>
          </Text>
        );
      })}
      {more ? (
        <Text color={theme.muted} wrap="truncate">
          {`    ${hidden > 0 ? `↓ ${hidden} more` : ''}${offset > 0 ? `${hidden > 0 ? ', ' : ''}↑ ${offset} above` : ''} · type to filter`}
        </Text>
      ) : null}
    </Box>
  );
}
