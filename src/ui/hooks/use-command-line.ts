import { useCallback, type Dispatch } from 'react';
import { errorMessage } from '../../vm/errors.js';
import { planCommand, type CommandRunner } from '../command-line.js';
import type { ViewAction } from '../view-state.js';

/** Options of useCommandLine. */
export interface CommandLineOptions {
  /** Runs `bento ARGS` (from the CLI); absent: `:` commands are refused. */
  runCommand: CommandRunner | undefined;
  dispatch: Dispatch<ViewAction>;
  quit(): void;
}

/** The last non-empty lines of a command's output, joined for the status line. */
export function lastLines(output: string, n = 2): string {
  return output
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.length > 0)
    .slice(-n)
    .join(' · ');
}

/** What Enter on the `:` line does: quit, refuse, or run the words as a bento command and show its output. */
export function useCommandLine({ runCommand, dispatch, quit }: CommandLineOptions): (line: string) => void {
  return useCallback(
    (line: string) => {
      dispatch({ type: 'command-end', line });
      const say = (text: string, kind: 'info' | 'error' = 'info'): void => dispatch({ type: 'status', text, kind });
      const plan = planCommand(line);
      if (plan.kind === 'none') return;
      if (plan.kind === 'quit') return quit();
      if (plan.kind === 'refuse') return say(plan.message, 'error');
      if (!runCommand) return say('commands need the bento CLI (not available here)', 'error');
      const shown = `bento ${plan.args.join(' ')}`;
      say(`${shown}…`);
      runCommand(plan.args).then(
        (r) => {
          const out = lastLines(r.output);
          if (r.exitCode === 0) say(out || `${shown}: done`);
          else say(out ? out.replace(/^bento: /, '') : `${shown} failed (exit ${r.exitCode})`, 'error');
        },
        (err: unknown) => say(`${shown}: ${errorMessage(err)}`, 'error'),
      );
    },
    [runCommand, dispatch, quit],
  );
}
