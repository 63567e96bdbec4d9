import { Text } from 'ink';
import type { ReactNode } from 'react';
import { useLineInput } from '../hooks/use-line-input.js';
import { useTheme } from '../hooks/use-theme.js';
import { Dialog } from './Dialog.js';

/** Props of NameDialog. */
export interface NameDialogProps {
  title: string;
  /** What happens, in a line. */
  message: string;
  initial: string;
  screen: { cols: number; rows: number };
  isActive: boolean;
  onSubmit(name: string): void;
  onCancel(): void;
}

/** Asks for a VM name (clone, rename): Enter takes it, Esc cancels. bentod checks the name. */
export function NameDialog({ title, message, initial, screen, isActive, onSubmit, onCancel }: NameDialogProps): ReactNode {
  const theme = useTheme();
  const { text, cursor } = useLineInput({ isActive, initial, onSubmit: (t) => onSubmit(t.trim()), onCancel });
  const width = Math.min(64, screen.cols - 2);
  return (
    <Dialog title={title} width={width} height={7} screen={screen} footer="Enter: go   Esc: cancel">
      <Text wrap="wrap">{message}</Text>
      <Text>
        <Text color={theme.muted}>name </Text>
        {text.slice(0, cursor)}
        <Text inverse>{text[cursor] ?? ' '}</Text>
        {text.slice(cursor + 1)}
      </Text>
    </Dialog>
  );
}
