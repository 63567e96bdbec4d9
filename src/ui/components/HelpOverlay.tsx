import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import { useTheme } from '../hooks/use-theme.js';
import { helpSections } from '../keys.js';
import { useKeys } from '../hooks/use-keys.js';
import { Dialog } from './Dialog.js';

/** Props of HelpOverlay. */
export interface HelpOverlayProps {
  escapeLabel: string;
  screen: { cols: number; rows: number };
  isActive: boolean;
  onClose(): void;
}

/** `?`: every key, grouped; any key closes it. */
export function HelpOverlay({ escapeLabel, screen, isActive, onClose }: HelpOverlayProps): ReactNode {
  const theme = useTheme();
  useKeys(() => (onClose(), true), { isActive, perChar: true });
  const sections = helpSections(escapeLabel);
  const twoColumns = screen.cols >= 110;
  const keyW = 11;
  const colW = twoColumns ? Math.floor((Math.min(screen.cols - 4, 120) - 4) / 2) : Math.min(screen.cols - 4, 76);
  const half = Math.ceil(sections.length / 2);
  const groups = twoColumns ? [sections.slice(0, half), sections.slice(half)] : [sections];
  const lines = (g: typeof sections): number => g.reduce((n, s) => n + s.keys.length + 2, 0);
  const height = Math.max(...groups.map(lines)) + 5;
  // Short terminals get the sections that fit; the rest is in the README.
  const budget = screen.rows - 8;
  return (
    <Dialog title="bento keys" width={twoColumns ? colW * 2 + 6 : colW + 4} height={height} screen={screen} footer="any key closes this">
      <Box flexDirection="row" gap={2}>
        {groups.map((g, gi) => {
          let used = 0;
          return (
            <Box key={gi} flexDirection="column" width={colW}>
              {g.map((s) => {
                if (used + 2 > budget) return null;
                const room = budget - used - 1;
                used += Math.min(s.keys.length, room) + 2;
                return (
                  <Box key={s.title} flexDirection="column" marginBottom={1}>
                    <Text bold underline>
                      {s.title}
                    </Text>
                    {s.keys.slice(0, room).map((k) => (
                      <Box key={k.keys + k.what}>
                        <Box width={keyW} flexShrink={0}>
                          <Text bold color={theme.accent}>
                            {k.keys}
                          </Text>
                        </Box>
                        <Text wrap="truncate">{k.what}</Text>
                      </Box>
                    ))}
                  </Box>
                );
              })}
            </Box>
          );
        })}
      </Box>
    </Dialog>
  );
}
