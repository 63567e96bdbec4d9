/** The `:` command mode: splitting a line into words as a shell would, and which commands it runs. */

/** The words of a command line: blanks separate, single and double quotes group, a backslash escapes. */
export function splitWords(line: string): string[] {
  const out: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} quote`);
  if (inWord) out.push(word);
  return out;
}

// Commands that take the terminal: the TUI has keys for them instead.
const INTERACTIVE: Record<string, string> = {
  console: 'the console is interactive: Enter opens it in a pane, a attaches full screen',
  ssh: 'ssh is interactive: h opens an SSH session',
  top: 'top is interactive: quit the TUI to run bento top',
};

/** What a `:` line asks for: quit, a refusal, or the words to run as `bento ARGS`. */
export type CommandPlan = { kind: 'quit' } | { kind: 'refuse'; message: string } | { kind: 'run'; args: string[] } | { kind: 'none' };

/** Reads a `:` command line. */
export function planCommand(line: string): CommandPlan {
  let words: string[];
  try {
    words = splitWords(line.replace(/^:/, ''));
  } catch (err) {
    return { kind: 'refuse', message: (err as Error).message };
  }
  if (!words.length) return { kind: 'none' };
  if (words.length === 1 && ['q', 'q!', 'quit', 'exit'].includes(words[0]!)) return { kind: 'quit' };
  if (words[0] === 'bento') words = words.slice(1);
  const why = INTERACTIVE[words[0] ?? ''];
  if (why) return { kind: 'refuse', message: why };
  if (words.includes('-f') || words.includes('--follow')) return { kind: 'refuse', message: 'following output never ends: l opens the serial log' };
  return { kind: 'run', args: words };
}

/** The result of a command run for the `:` line. */
export interface CommandResult {
  exitCode: number;
  /** stdout and stderr, in order as far as they can be told. */
  output: string;
}

/** Runs `bento ARGS` for the TUI (injected by the CLI: src/ui starts no processes itself). */
export type CommandRunner = (args: string[]) => Promise<CommandResult>;
