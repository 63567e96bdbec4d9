import { errorMessage } from '../vm/errors.js';
import { bentoHome, socketPath } from '../vm/paths.js';

// The `bento` executable. Without a command it opens the TUI, and that path loads only the TUI
// (open-tui.ts): its first frame is what people wait for each time they open bento. Every other
// invocation, `bento --help` included, goes to the command-line parser in bento.ts.
if (process.argv.length === 2) {
  const home = bentoHome();
  const socket = process.env.BENTO_SOCKET ?? socketPath(home);
  import('./open-tui.js')
    .then(({ openTui }) => openTui(home, socket))
    .catch((err: unknown) => {
      process.stderr.write(`bento: ${errorMessage(err)}\n`);
      process.exit(1);
    });
} else {
  await import('./bento.js');
}
