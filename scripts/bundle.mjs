// Bundles the bins with esbuild so `bento ls` loads one file instead of hundreds of modules.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { yogaSync } from './yoga-plugin.mjs';
import { fastStringWidth } from './string-width-plugin.mjs';
import { inkBoundedCaches } from './ink-cache-plugin.mjs';
import { buildTuiScript } from './tui-script.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const outdir = path.join(root, 'dist');
fs.rmSync(outdir, { recursive: true, force: true });

const alias = { 'react-devtools-core': path.join(root, 'scripts/stubs/react-devtools-core.js') };
// NODE_ENV: React (and Ink) ship their production builds, several times faster than the development ones.
const define = { __BENTO_VERSION__: JSON.stringify(pkg.version), 'process.env.DEV': '"false"', 'process.env.NODE_ENV': '"production"' };

await build({
  absWorkingDir: root,
  // bento: main.ts, which loads the TUI alone or the command-line parser (bento.ts) for commands.
  // vz-helper: the per-VM process that hosts a Virtualization.framework VM (run by a signed node, macOS).
  entryPoints: { bento: 'src/cli/main.ts', bentod: 'src/cli/bentod.ts', 'vz-helper': 'src/vm/drivers/vz/helper-main.ts' },
  outdir,
  bundle: true,
  splitting: true, // the TUI (Ink, React) is a separate chunk, loaded only when the TUI opens
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  chunkNames: 'chunks/[name]-[hash]',
  // Native modules are loaded from node_modules at run time, never bundled.
  external: ['node-pty'],
  alias,
  define,
  banner: {
    js: [
      '#!/usr/bin/env node',
      // Some CommonJS dependencies call require(); give the ESM bundle one.
      "import { createRequire as __bentoCreateRequire } from 'node:module';",
      'const require = __bentoCreateRequire(import.meta.url);',
    ].join('\n'),
  },
  plugins: [yogaSync(), fastStringWidth(), inkBoundedCaches()],
  logLevel: 'warning',
});
// The TUI again, as one classic script that loads with a V8 code cache (src/cli/code-cache.ts).
await buildTuiScript({ root, outfile: path.join(outdir, 'tui.cjs'), define, alias });
for (const bin of ['bento.js', 'bentod.js']) fs.chmodSync(path.join(outdir, bin), 0o755);
