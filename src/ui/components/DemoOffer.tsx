import { Text } from 'ink';
import { useState, type ReactNode } from 'react';
import { BentoError, errorMessage } from '../../vm/errors.js';
import { useTheme } from '../hooks/use-theme.js';
import { cleanText, wrapWords } from '../text.js';
import { useKeys } from '../hooks/use-keys.js';
import { Dialog } from './Dialog.js';

/** Props of DemoOffer. */
export interface DemoOfferProps {
  /** Where the test guest's vmlinuz and initrd.img are. */
  guestDir: string;
  screen: { cols: number; rows: number };
  isActive: boolean;
  /** Creates and starts the demo VM; rejects with the API's error. */
  onAccept(): Promise<void>;
  onNew(): void;
  onDecline(): void;
}

const INTRO = "There are no VMs yet. Create a small demo VM from bento's test guest and boot it? Its console opens below the list.";
const MISSING = 'The test guest is not built yet. Build it with `npm run guest` (scripts/build-test-guest.sh), then press Enter again.';

/** Whether an error means the test guest has not been built (its files are missing). */
function guestMissing(err: unknown): boolean {
  return err instanceof BentoError && (err.fields ?? []).some((f) => (f.field === 'kernel' || f.field === 'initrd') && f.message.startsWith('does not exist'));
}

/** First run, no VMs: offer a demo VM from the test guest, so a fresh install shows a guest booting. */
export function DemoOffer({ guestDir, screen, isActive, onAccept, onNew, onDecline }: DemoOfferProps): ReactNode {
  const theme = useTheme();
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<{ missing: boolean; text: string } | null>(null);
  useKeys(
    (input, key) => {
      if (busy) return;
      if (key.return || input === 'y') {
        setBusy(true);
        setProblem(null);
        onAccept().then(
          () => setBusy(false),
          (err: unknown) => {
            setBusy(false);
            setProblem({ missing: guestMissing(err), text: errorMessage(err) });
          },
        );
        return;
      }
      if (input === 'n') onNew();
      else if (key.escape || input === 'q') onDecline();
      else return;
      return true;
    },
    { isActive, perChar: true },
  );
  const width = Math.min(72, screen.cols - 2);
  return (
    <Dialog
      title="Welcome to bento"
      width={width}
      height={12}
      screen={screen}
      footer={busy ? 'creating and starting demo…' : 'Enter create and boot demo · n new VM form · Esc not now'}
    >
      {wrapWords(INTRO, width - 4).map((l, i) => (
        <Text key={i}>{l}</Text>
      ))}
      <Text color={theme.muted} wrap="truncate-start">
        guest: {guestDir}
      </Text>
      {problem ? (
        problem.missing ? (
          wrapWords(MISSING, width - 4).map((l, i) => (
            <Text key={i} color={theme.warn}>
              {l}
            </Text>
          ))
        ) : (
          wrapWords(`✗ ${cleanText(problem.text)}`, width - 4).map((l, i) => (
            <Text key={i} color={theme.error}>
              {l}
            </Text>
          ))
        )
      ) : null}
    </Dialog>
  );
}
