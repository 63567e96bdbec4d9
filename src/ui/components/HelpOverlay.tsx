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
  // The dialog may cover the whole screen (its margin, frame, title and footer take 7 rows); on a terminal
  // shorter than that, the sections that fit.
  const budget = screen.rows - 7;
  // Two columns on wide terminals, and on narrower ones (80+) when one column would be cut off.
  const twoColumns = screen.cols >= 110 || (screen.cols >= 80 && lines(sections, oneColW) > budget);
  const colW = twoColumns ? Math.floor((Math.min(screen.cols - 4, 120) - 4) / 2) : oneColW;
  // Each section goes to the shorter column, in order, so the two end up about as long.
  const groups: (typeof sections)[] = twoColumns ? [[], []] : [sections];
  if (twoColumns) for (const s of sections) groups[lines(groups[0]!, colW) <= lines(groups[1]!, colW) ? 0 : 1]!.push(s);
  const height = Math.min(Math.max(...groups.map((g) => lines(g, colW))), budget) + 5;
  return (
    <Dialog title="bento keys" width={twoColumns ? colW * 2 + 6 : colW + 4} height={height} screen={screen} footer="any key closes this">
      <Box flexDirection="row" gap={2}>
        {groups.map((g, gi) => {
          let used = 0;
          return (
            <Box key={gi} flexDirection="column" width={colW}>
              {g.map((s, si) => {
                if (used + 2 > budget) return null;
                const shown: typeof s.keys = [];
                // Its title, and the blank line after it unless it is the column's last.
                used += si < g.length - 1 ? 2 : 1;
                for (const k of s.keys) {
                  if (used + rowsOf(k.what, colW) > budget) break;
                  used += rowsOf(k.what, colW);
                  shown.push(k);
                }
                return (
                  <Box key={s.title} flexDirection="column" marginBottom={si < g.length - 1 ? 1 : 0}>
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
