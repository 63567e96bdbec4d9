// esbuild plugin: string-width with a fast path for plain text and a lazy Intl.Segmenter.
//
// Ink measures every piece of text with string-width (two versions are in the bundle). Measuring
// text with any non-ASCII character (the TUI's borders, ● ○ … ·) made the first frame create an
// Intl.Segmenter and compile string-width's emoji regular expressions: 50-100 ms on this project's
// 2-core machines. Each `import stringWidth from 'string-width'` now gets a wrapper that answers
// plain text itself (scripts/stubs/string-width-fast.js) and loads and asks the real package
// otherwise; the real package also creates its Intl.Segmenter on first use, not when it loads.
//
// Ink's output tokenizer (@alcalzone/ansi-tokenize) segments each line it draws with an
// Intl.Segmenter (about 15 ms to create the first one), and slice-ansi creates one when it loads:
// plain lines (the characters above, plus ESC) are split by plainSegments instead, and both
// segmenters are created on first use.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FAST = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stubs', 'string-width-fast.js');
const EAGER = 'const segmenter = new Intl.Segmenter();';
const TOKENIZE_NEW = 'new Intl.Segmenter(undefined, { granularity: "grapheme" })';
const TOKENIZE_EAGER = `const segmenter = ${TOKENIZE_NEW};`;
const SLICE_NEW = "new Intl.Segmenter(undefined, {granularity: 'grapheme'})";
const SLICE_EAGER = `const GRAPHEME_SEGMENTER = ${SLICE_NEW};`;
const LAZY = 'let segmenterInstance;\nconst segmenter = { segment: (text) => (segmenterInstance ??= new Intl.Segmenter()).segment(text) };';

/** The plugin described at the top of this file. */
export function fastStringWidth() {
  return {
    name: 'fast-string-width',
    setup(build) {
      build.onResolve({ filter: /^string-width$/ }, async (args) => {
        if (args.pluginData?.real) return undefined;
        const real = await build.resolve('string-width', { resolveDir: args.resolveDir, kind: args.kind, importer: args.importer, pluginData: { real: true } });
        if (real.errors.length > 0) return { errors: real.errors };
        return { path: real.path, namespace: 'string-width-fast' };
      });
      build.onLoad({ filter: /.*/, namespace: 'string-width-fast' }, (args) => ({
        contents: [
          "import { eastAsianWidth } from 'get-east-asian-width';",
          `import { plainWidth } from ${JSON.stringify(FAST)};`,
          'let realWidth;',
          'export default function stringWidth(input, options) {',
          '  const width = plainWidth(input, options, eastAsianWidth);',
          '  if (width >= 0) return width;',
          // A require the bundler resolves: the real string-width (its regular expressions, its
          // Intl.Segmenter) initialises the first time it is needed, not when Ink loads.
          `  realWidth ??= require(${JSON.stringify(args.path)}).default;`,
          '  return realWidth(input, options);',
          '}',
        ].join('\n'),
        loader: 'js',
        // get-east-asian-width as the real string-width sees it (the versions may differ).
        resolveDir: path.dirname(args.path),
      }));
      // Ink's output tokenizer segments every line it draws: plain lines skip Intl.Segmenter.
      build.onLoad({ filter: /[\\/]@alcalzone[\\/]ansi-tokenize[\\/]build[\\/]tokenize\.js$/ }, (args) => {
        const source = fs.readFileSync(args.path, 'utf8');
        if (!source.includes(TOKENIZE_EAGER)) return undefined;
        const lazy = [
          `import { plainSegments } from ${JSON.stringify(FAST)};`,
          'let segmenterInstance;',
          `const segmenter = { segment: (text) => plainSegments(text) ?? (segmenterInstance ??= ${TOKENIZE_NEW}).segment(text) };`,
        ].join('\n');
        return { contents: source.replace(TOKENIZE_EAGER, lazy), loader: 'js', resolveDir: path.dirname(args.path) };
      });
      // slice-ansi (Ink's truncation) creates its segmenter when it is first needed.
      build.onLoad({ filter: /[\\/]slice-ansi[\\/]tokenize-ansi\.js$/ }, (args) => {
        const source = fs.readFileSync(args.path, 'utf8');
        if (!source.includes(SLICE_EAGER)) return undefined;
        const lazy = `let segmenterInstance;\nconst GRAPHEME_SEGMENTER = { segment: (text) => (segmenterInstance ??= ${SLICE_NEW}).segment(text) };`;
        return { contents: source.replace(SLICE_EAGER, lazy), loader: 'js', resolveDir: path.dirname(args.path) };
      });
      build.onLoad({ filter: /[\\/]string-width[\\/]index\.js$/ }, (args) => {
        const source = fs.readFileSync(args.path, 'utf8');
        if (!source.includes(EAGER)) return undefined; // a string-width that does not segment this way: as shipped
        return { contents: source.replace(EAGER, LAZY), loader: 'js', resolveDir: path.dirname(args.path) };
      });
    },
  };
}
