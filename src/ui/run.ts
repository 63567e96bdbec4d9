import type { BentoClient } from '../api/client.js';

/** Options the CLI passes to the TUI. */
export interface TuiOptions {
  home: string;
  socket: string;
  ensure: () => Promise<BentoClient>;
}

/** Opens the TUI. */
export async function runTui(_opts: TuiOptions): Promise<void> {
  throw new Error('the TUI is not built yet; use the bento commands (bento --help)');
}
