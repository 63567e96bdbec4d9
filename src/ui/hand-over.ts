/** The full-screen hand-overs (`a`, `h`): what runs, and what the status line says when it ends. */

/** What the terminal is handed to: `bento console NAME` (a) or `bento ssh NAME` (h). */
export type HandOverTool = 'console' | 'ssh';

/** How a hand-over ended (the child's exit, and the last line of its stderr when kept). */
export interface HandOverEnd {
  exitCode: number | null;
  signal: string | null;
  lastError?: string;
}

/** The status line after coming back from `tool` on `name`. */
export function handOverStatus(tool: HandOverTool, name: string, end: HandOverEnd): { text: string; kind: 'info' | 'error' } {
  if (end.exitCode === 0) return { text: tool === 'ssh' ? `back from ssh ${name}` : `back from ${name}`, kind: 'info' };
  const how = end.signal ?? `code ${end.exitCode ?? '?'}`;
  const why = end.lastError ? `: ${end.lastError}` : '';
  const text = tool === 'ssh' ? `ssh ${name} ended with ${how}${why}` : `the console of ${name} ended with ${how}${why}`;
  return { text, kind: 'error' };
}
