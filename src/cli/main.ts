import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorMessage } from '../vm/errors.js';
import { bentoHome, socketPath } from '../vm/paths.js';
import type { openTui as OpenTuiFn } from './open-tui.js';
import { printableLines } from '../ui/text.js';

// The `bento` executable. Without a command it opens the TUI, and that path loads only the TUI: its
// first frame is what people wait for each time they open bento. Every other invocation, `bento
// --help` included, goes to the command-line parser in bento.ts.

type OpenTui = typeof OpenTuiFn;

/**
 * The TUI: from dist/tui.cjs with a V8 code cache when the bundle has one (scripts/tui-script.mjs),
 * else (running from source, or BENTO_CODE_CACHE=0) from the ES modules. Returns what to call once
 * the first frame is drawn.
 */
async function loadTui(): Promise<{ openTui: OpenTui; firstFrame?: () => void }> {
  const script = fileURLToPath(new URL('./tui.cjs', import.meta.url));
  if (process.env.BENTO_CODE_CACHE === '0' || !fs.existsSync(script)) return import('./open-tui.js');
  const { loadCachedScript, codeCacheDir } = await import('./code-cache.js');
  const loaded = loadCachedScript<{ openTui: OpenTui }>(script, codeCacheDir());
  // Saving compiles nothing new, it serialises what the first frame compiled: after the frame.
  return { openTui: loaded.exports.openTui, firstFrame: () => void loaded.save() };
}

if (process.argv.length === 2) {
  const home = bentoHome();
  const socket = process.env.BENTO_SOCKET ?? socketPath(home);
  loadTui()
    .then(({ openTui, firstFrame }) => openTui(home, socket, firstFrame))
    .catch((err: unknown) => {
      process.stderr.write(`bento: ${printableLines(errorMessage(err))}\n`);
      process.exit(1);
    });
} else {
  await import('./bento.js');
}
