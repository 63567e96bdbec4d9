// esbuild plugin: Ink's text caches, bounded.
//
// Ink keeps two module-level caches that never shrink: measure-text.js (text -> width and height)
// and wrap-text.js (text + width + wrap mode -> wrapped text). Every distinct string ever drawn stays
// in them; with live figures (a CPU % and sparkline per visible VM, every second) a TUI left open for
// days grows by tens of MB an hour. Here each cache is emptied once it holds CACHE_LIMIT entries:
// they are only caches, so the next frame measures again what it draws.
import fs from 'node:fs';

/** Entries a cache may hold before it is emptied: far more than one screen draws. */
export const CACHE_LIMIT = 4096;

/** [file, the line to find, the line it becomes]. */
const PATCHES = [
  ['measure-text.js', '    cache.set(text, dimensions);', `    if (cache.size >= ${CACHE_LIMIT}) cache.clear();\n    cache.set(text, dimensions);`],
  [
    'wrap-text.js',
    '    cache[cacheKey] = wrappedText;',
    `    if (++cacheEntries > ${CACHE_LIMIT}) {\n        for (const key of Object.keys(cache)) delete cache[key];\n        cacheEntries = 1;\n    }\n    cache[cacheKey] = wrappedText;`,
  ],
];

/** Bounds Ink's measure-text and wrap-text caches; a changed Ink is bundled as shipped, with a warning. */
export function inkBoundedCaches() {
  return {
    name: 'ink-bounded-caches',
    setup(build) {
      build.onLoad({ filter: /[\\/]ink[\\/]build[\\/](measure-text|wrap-text)\.js$/ }, (args) => {
        const source = fs.readFileSync(args.path, 'utf8');
        const [file, find, replace] = PATCHES.find(([f]) => args.path.endsWith(f));
        if (!source.includes(find)) {
          return { contents: source, loader: 'js', warnings: [{ text: `ink-bounded-caches: ${args.path} changed; its cache is unbounded as shipped` }] };
        }
        const counter = file === 'wrap-text.js' ? 'let cacheEntries = 0;\n' : '';
        return { contents: counter + source.replace(find, replace), loader: 'js' };
      });
    },
  };
}
