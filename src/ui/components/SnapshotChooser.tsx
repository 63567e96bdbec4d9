import { Text } from 'ink';
import { useState, type ReactNode } from 'react';
import { useKeys } from '../hooks/use-keys.js';
import type { SnapshotsState } from '../hooks/use-snapshots.js';
import { useTheme } from '../hooks/use-theme.js';
import { snapshotAge, snapshotLine } from '../snapshot-view.js';
import { cleanText, fit } from '../text.js';
import { ConfirmDialog } from './ConfirmDialog.js';
import { Dialog } from './Dialog.js';

/** Props of SnapshotChooser. */
export interface SnapshotChooserProps {
  name: string;
  snapshots: SnapshotsState;
  screen: { cols: number; rows: number };
  isActive: boolean;
  onRestore(tag: string): void;
  onRemove(tag: string): void;
  onClose(): void;
}

/** Rows of snapshots shown at once. */
const ROWS = 10;

/**
 * A VM's snapshots, newest first: ↑↓ choose, Enter restores and D (or Delete) removes, each after a
 * confirmation naming the VM and the tag; Esc closes.
 */
export function SnapshotChooser({ name, snapshots, screen, isActive, onRestore, onRemove, onClose }: SnapshotChooserProps): ReactNode {
  const theme = useTheme();
  const [index, setIndex] = useState(0);
  const [confirm, setConfirm] = useState<{ kind: 'restore' | 'remove'; tag: string } | null>(null);
  const list = snapshots.list ?? [];
  const at = Math.min(index, Math.max(list.length - 1, 0));
  const chosen = list[at];
  useKeys(
    (input, key) => {
      // Closing or opening a confirmation moves the keys: true makes the next key wait for React.
      if (key.escape || input === 'q') onClose();
      else if (key.upArrow || input === 'k') setIndex(Math.max(at - 1, 0));
      else if (key.downArrow || input === 'j') setIndex(Math.min(at + 1, Math.max(list.length - 1, 0)));
      else if (chosen && key.return) setConfirm({ kind: 'restore', tag: chosen.tag });
      else if (chosen && (input === 'D' || key.delete)) setConfirm({ kind: 'remove', tag: chosen.tag });
      else return false;
      return true;
    },
    { isActive: isActive && confirm === null, perChar: true },
  );
  if (confirm) {
    const snap = list.find((s) => s.tag === confirm.tag);
    const when = snap ? ` (taken ${snapshotAge(snap.createdAt)})` : '';
    const restoreWhat = snap?.withRam
      ? `${name} goes back to the instant of ${confirm.tag}${when}, ${snap.state === 'paused' ? 'paused' : 'running'}: its running state and its disks are replaced by the snapshot's. Everything since is lost.`
      : `The disks of ${name} go back to ${confirm.tag}${when}. Everything written since is lost.`;
    return confirm.kind === 'restore' ? (
      <ConfirmDialog
        title={`Restore ${name} to ${confirm.tag}?`}
        message={restoreWhat}
        verb="restore"
        screen={screen}
        isActive={isActive}
        onConfirm={() => {
          setConfirm(null);
          onRestore(confirm.tag);
        }}
        onCancel={() => setConfirm(null)}
      />
    ) : (
      <ConfirmDialog
        title={`Remove snapshot ${confirm.tag} of ${name}?`}
        message={`The snapshot ${confirm.tag}${when} is deleted from the disks of ${name}; the VM itself is not changed. This cannot be undone.`}
        verb="remove"
        screen={screen}
        isActive={isActive}
        onConfirm={() => {
          setConfirm(null);
          onRemove(confirm.tag);
        }}
        onCancel={() => setConfirm(null)}
      />
    );
  }
  const width = Math.min(72, screen.cols - 2);
  const first = Math.max(0, Math.min(at - ROWS + 1, list.length - ROWS));
  const shown = list.slice(first, first + ROWS);
  const body: ReactNode[] = snapshots.error
    ? [<Text key="e" color={theme.error}>{fit(cleanText(snapshots.error), width - 4)}</Text>]
    : snapshots.list === null
      ? [<Text key="l" color={theme.muted}>reading snapshots…</Text>]
      : list.length === 0
        ? [<Text key="n" color={theme.muted}>no snapshots yet (v takes one)</Text>]
        : shown.map((s, i) => (
            <Text key={s.tag} inverse={first + i === at} wrap="truncate">
              {fit(` ${cleanText(snapshotLine(s))}`, width - 4)}
            </Text>
          ));
  return (
    <Dialog title={`Snapshots · ${name}`} width={width} height={Math.max(shown.length, 1) + 6} screen={screen} footer="↑↓ choose · Enter restore · D remove · Esc close">
      {body}
    </Dialog>
  );
}
