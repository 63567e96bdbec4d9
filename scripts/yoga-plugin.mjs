// esbuild plugin: yoga-layout without undici. yoga's Emscripten loader fetches its own inlined
// `data:` URL with the global fetch when there is one, and in Node the first fetch loads undici:
// about 50 ms of the TUI's first frame went there. With no fetch in sight during the synchronous
// start of loadYoga() it decodes the same base64 in place. Everything else in yoga is unchanged.
import fs from 'node:fs';
import path from 'node:path';

/** The exact line this plugin rewrites; when yoga's index.js changes, the build says so and keeps yoga as is. */
const ORIGINAL = 'const Yoga = wrapAssembly(await loadYoga());';
const REPLACEMENT = [
  "const fetchProperty = Object.getOwnPropertyDescriptor(globalThis, 'fetch');",
  'let loading;',
  'if (fetchProperty?.configurable) {',
  '  delete globalThis.fetch;',
  '  try { loading = loadYoga(); } finally { Object.defineProperty(globalThis, "fetch", fetchProperty); }',
  '} else loading = loadYoga();',
  'const Yoga = wrapAssembly(await loading);',
].join('\n');

/** Rewrites yoga-layout's index.js so its WebAssembly loads without fetch (see the top of this file). */
export function yogaWithoutFetch() {
  return {
    name: 'yoga-without-fetch',
    setup(build) {
      build.onLoad({ filter: /yoga-layout[\\/]dist[\\/]src[\\/]index\.js$/ }, (args) => {
        const source = fs.readFileSync(args.path, 'utf8');
        if (!source.includes(ORIGINAL)) {
          return { contents: source, loader: 'js', warnings: [{ text: `yoga-without-fetch: ${args.path} changed; yoga loads through fetch (slower first frame)` }] };
        }
        return { contents: source.replace(ORIGINAL, REPLACEMENT), loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}
