import { Text } from 'ink';
import type { ReactNode } from 'react';
import { useKeys } from '../hooks/use-keys.js';
import { printable, wrapWords } from '../text.js';
import { Dialog } from './Dialog.js';

/** Props of ConfirmDialog. */
export interface ConfirmDialogProps {
  title: string;
  /** What will happen, in full. */
  message: string;
  /** The verb on the yes key: "delete", "force stop". */
  verb: string;
  screen: { cols: number; rows: number };
  isActive: boolean;
  onConfirm(): void;
  onCancel(): void;
}

/** A yes/no question for destructive actions: y confirms; n, Esc and anything else cancel. */
export function ConfirmDialog({ title, message, verb, screen, isActive, onConfirm, onCancel }: ConfirmDialogProps): ReactNode {
  useKeys(
    (input) => {
      if (input === 'y' || input === 'Y') onConfirm();
      else onCancel();
      return true;
    },
    { isActive, perChar: true },
  );
  const width = Math.min(64, screen.cols - 2);
  const lines = wrapWords(printable(message), width - 4);
  return (
    <Dialog title={title} width={width} height={lines.length + 6} screen={screen} tone="danger" footer={`y ${verb} · n / Esc cancel`}>
      {lines.map((l, i) => (
        <Text key={i}>{l}</Text>
      ))}
    </Dialog>
  );
}
