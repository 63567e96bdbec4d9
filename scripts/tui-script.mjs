// Builds dist/tui.cjs: the TUI (src/cli/open-tui.ts with Ink, React, yoga and the screens) as one
// classic script, which src/cli/code-cache.ts compiles with a V8 code cache. ES modules cannot take
// one in Node 20, and compiling this code is most of the TUI's first frame after the first run.
//
// A classic script cannot hold top-level await. Besides yoga's (see yoga-plugin.mjs), Ink has two,
// both only when DEV=true, which this bundle defines away: they are rewritten to their non-DEV
// values. When Ink's text changes the patch does not apply, the build warns, skips tui.cjs, and
// bento opens the TUI from the ES module chunks as before.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { yogaSync } from './yoga-plugin.mjs';
import { fastStringWidth } from './string-width-plugin.mjs';
import { inkBoundedCaches } from './ink-cache-plugin.mjs';

/** Ink's dev-only top-level awaits and what they become when DEV is not 'true'. */
const INK_PATCHES = [
  ["        await import('./devtools.js');", "        throw new Error('Ink devtools are not in the bundle');"],
  ['    ? await loadPackageJson()', '    ? undefined'],
];

function inkWithoutTopLevelAwait() {
  return {
    name: 'ink-without-top-level-await',
    setup(b) {
      b.onLoad({ filter: /ink[\\/]build[\\/]reconciler\.js$/ }, (args) => {
        let source = fs.readFileSync(args.path, 'utf8');
        for (const [from, to] of INK_PATCHES) {
          if (!source.includes(from)) return { errors: [{ text: `ink's reconciler.js changed: no "${from.trim()}"` }] };
          source = source.replace(from, to);
        }
        return { contents: source, loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}

/**
 * Bundles the TUI into `outfile` (CommonJS body: the loader supplies require, module and
 * `__bentoScriptUrl`, which stands for import.meta.url). Returns false, having removed any old
 * file, when it cannot be built; the TUI then loads from the ES module chunks.
 */
export async function buildTuiScript({ root, outfile, define, alias }) {
  try {
    await build({
      absWorkingDir: root,
      entryPoints: ['src/cli/open-tui.ts'],
      outfile,
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      // Less to read, and less to parse for the functions the code cache does not hold.
      minify: true,
      external: ['node-pty'],
      alias,
      define: { ...define, 'import.meta.url': '__bentoScriptUrl' },
      plugins: [yogaSync(), fastStringWidth(), inkBoundedCaches(), inkWithoutTopLevelAwait()],
      logLevel: 'silent',
    });
    return true;
  } catch (err) {
    fs.rmSync(outfile, { force: true });
    process.stderr.write(`bundle: the TUI script was not built, the TUI loads without a code cache: ${err.message}\n`);
    return false;
  }
}
