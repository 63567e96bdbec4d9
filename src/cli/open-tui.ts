import { describeEscapeKey, parseEscapeKey } from '../console/escape-key.js';
import { runTui } from '../ui/run.js';
import { commandRunner } from './command-runner.js';
import { ensureDaemon } from './ensure-daemon.js';
import { quickPreferences } from './prefs-quick.js';

/**
 * `bento` without a command: the TUI. Loaded on its own (main.ts), so opening the TUI parses neither
 * the command-line parser nor the engine's validation (zod, yaml) it never uses. `onFirstFrame` is
 * called once the first frame is on screen.
 */
export async function openTui(home: string, socket: string, onFirstFrame?: () => void): Promise<void> {
  // Ink draws no frames when it guesses it runs in CI (CI=true, read when Ink loads). The TUI only
  // opens on a real terminal, where that guess is wrong, so it is switched off before Ink loads
  // (run.ts imports Ink when it starts).
  if (process.stdout.isTTY) {
    process.env.CI = '0';
    process.env.CONTINUOUS_INTEGRATION = '0';
  }
  const { escapeKey } = quickPreferences(home) ?? (await import('./prefs.js')).loadPreferences(home);
  await runTui({
    home,
    socket,
    ensure: () => ensureDaemon(home, socket),
    runCommand: commandRunner(home, socket),
    escape: { byte: parseEscapeKey(escapeKey), label: describeEscapeKey(escapeKey) },
    ...(onFirstFrame ? { onFirstFrame } : {}),
  });
}
