import { Box, Text } from 'ink';
import type { ReactNode } from 'react';
import type { Vm } from '../../vm/types.js';
import { useTheme } from '../hooks/use-theme.js';
import type { KeyHelp } from '../keys.js';
import { pauseAction, refusal } from '../vm-actions.js';

/** Props of HintBar. */
export interface HintBarProps {
  hints: readonly KeyHelp[];
  /** The selected VM: keys whose action does not fit it are dimmed. */
  vm: Vm | null;
  width: number;
  /** A label in front of the hints (the focused pane). */
  label?: string;
}

function fits(h: KeyHelp, vm: Vm | null): boolean {
  if (!h.action) return true;
  if (!vm) return false;
  const action = h.action === 'pause-toggle' ? pauseAction(vm) : h.action;
  return refusal(action, vm) === null;
}

/** The key-hint bar: what the keys do in the focused pane; keys that would be refused are dim. */
export function HintBar({ hints, vm, width, label }: HintBarProps): ReactNode {
  const theme = useTheme();
  let used = label ? label.length + 2 : 0;
  const shown: KeyHelp[] = [];
  for (const h of hints) {
    const w = (h.keys ? h.keys.length + 1 : 0) + h.what.length + 2;
    if (used + w > width) break;
    used += w;
    shown.push(h);
  }
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate">
        {label ? (
          <Text bold inverse>
            {label}
          </Text>
        ) : null}
        {label ? ' ' : ''}
        {shown.map((h) => {
          const ok = fits(h, vm);
          const what = h.action === 'pause-toggle' && vm?.state === 'paused' ? 'resume' : h.what;
          return (
            <Text key={h.keys + h.what} dimColor={!ok}>
              {h.keys ? (
                <Text bold color={ok ? theme.accent : undefined}>
                  {h.keys}
                </Text>
              ) : null}
              {h.keys ? ' ' : ''}
              {what}
              {'  '}
            </Text>
          );
        })}
      </Text>
    </Box>
  );
}
