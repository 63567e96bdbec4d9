// esbuild plugin: yoga-layout loaded synchronously, without fetch and without top-level await.
//
// yoga's index.js does `wrapAssembly(await loadYoga())`, and its Emscripten loader fetches its own
// inlined `data:` URL with the global fetch when there is one: in Node the first fetch loads undici,
// about 50 ms of the TUI's first frame. Here the same WebAssembly bytes (taken from that data: URL
// at build time) are compiled synchronously through Emscripten's documented `instantiateWasm` hook,
// so yoga is ready when its module has run: no fetch, and no top-level await, which lets the TUI
// also be bundled as a classic script (a V8 code cache needs one; see src/cli/code-cache.ts).
import fs from 'node:fs';
import path from 'node:path';

/** The lines of yoga's index.js this plugin replaces; when they change, the build warns and keeps yoga as is. */
const EXPECTED = ["import loadYoga from '../binaries/yoga-wasm-base64-esm.js';", 'const Yoga = wrapAssembly(await loadYoga());', 'export * from "./generated/YGEnums.js";'];
const DATA_URL = /H="data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)"/;

function replacement(base64) {
  return [
    "import loadYoga from '../binaries/yoga-wasm-base64-esm.js';",
    "import wrapAssembly from './wrapAssembly.js';",
    `const wasm = Buffer.from(${JSON.stringify(base64)}, 'base64');`,
    'const module = {',
    '  instantiateWasm(imports, done) {',
    '    const compiled = new WebAssembly.Module(wasm);',
    '    done(new WebAssembly.Instance(compiled, imports), compiled);',
    '    return {};',
    '  },',
    '};',
    // With instantiateWasm answering at once, Emscripten's run() finishes inside this call.
    'loadYoga(module);',
    "if (typeof module.Node !== 'function') throw new Error('yoga-layout did not initialise synchronously');",
    'const Yoga = wrapAssembly(module);',
    'export default Yoga;',
    'export * from "./generated/YGEnums.js";',
  ].join('\n');
}

/** Rewrites yoga-layout's index.js as described at the top of this file. */
export function yogaSync() {
  return {
    name: 'yoga-sync',
    setup(build) {
      build.onLoad({ filter: /yoga-layout[\\/]dist[\\/]src[\\/]index\.js$/ }, (args) => {
        const source = fs.readFileSync(args.path, 'utf8');
        const binary = fs.readFileSync(path.join(path.dirname(args.path), '../binaries/yoga-wasm-base64-esm.js'), 'utf8');
        const data = DATA_URL.exec(binary);
        if (!EXPECTED.every((line) => source.includes(line)) || !data) {
          return { contents: source, loader: 'js', warnings: [{ text: `yoga-sync: ${args.path} changed; yoga loads as shipped (slower first frame)` }] };
        }
        return { contents: replacement(data[1]), loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}
