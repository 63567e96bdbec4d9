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
  const keyW = 11;
  const oneColW = Math.min(screen.cols - 4, 76);
  // A key's description wraps rather than being cut off: count the rows each one takes.
  const rowsOf = (what: string, colW: number): number => Math.max(1, Math.ceil(what.length / Math.max(10, colW - keyW)));
  const lines = (g: typeof sections, colW: number): number => g.reduce((n, s) => n + 2 + s.keys.reduce((m, k) => m + rowsOf(k.what, colW), 0), 0);
  // Short terminals get the sections that fit; the rest is in the README.
  const budget = screen.rows - 8;
  // Two columns on wide terminals, and on narrower ones (80+) when one column would be cut off.
  const twoColumns = screen.cols >= 110 || (screen.cols >= 80 && lines(sections, oneColW) > budget);
  const colW = twoColumns ? Math.floor((Math.min(screen.cols - 4, 120) - 4) / 2) : oneColW;
  const half = Math.ceil(sections.length / 2);
  const groups = twoColumns ? [sections.slice(0, half), sections.slice(half)] : [sections];
  const height = Math.min(Math.max(...groups.map((g) => lines(g, colW))), budget) + 5;
  return (
    <Dialog title="bento keys" width={twoColumns ? colW * 2 + 6 : colW + 4} height={height} screen={screen} footer="any key closes this">
      <Box flexDirection="row" gap={2}>
        {groups.map((g, gi) => {
          let used = 0;
          return (
            <Box key={gi} flexDirection="column" width={colW}>
              {g.map((s) => {
                if (used + 3 > budget) return null;
                const shown: typeof s.keys = [];
                used += 2;
                for (const k of s.keys) {
                  if (used + rowsOf(k.what, colW) > budget) break;
                  used += rowsOf(k.what, colW);
                  shown.push(k);
                }
                return (
                  <Box key={s.title} flexDirection="column" marginBottom={1}>
                    <Text bold underline>
                      {s.title}
                    </Text>
                    {shown.map((k) => (
                      <Box key={k.keys + k.what}>
                        <Box width={keyW} flexShrink={0}>
                          <Text bold color={theme.accent}>
                            {k.keys}
                          </Text>
                        </Box>
                        <Text wrap="wrap">{k.what}</Text>
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
