import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a build script in plain JavaScript
import { CACHE_LIMIT, inkBoundedCaches } from '../../scripts/ink-cache-plugin.mjs';

const inkBuild = path.resolve(import.meta.dirname, '../../node_modules/ink/build');

/** Bundles one of Ink's modules through the plugin; its warnings say whether the patch applied. */
async function bundled(file: string): Promise<{ code: string; warnings: string[] }> {
  const r = await build({ entryPoints: [path.join(inkBuild, file)], bundle: true, write: false, format: 'esm', platform: 'node', logLevel: 'silent', plugins: [inkBoundedCaches()] });
  return { code: r.outputFiles[0]!.text, warnings: r.warnings.map((w) => w.text) };
}

describe("Ink's text caches are bounded in the bundle", () => {
  it('patches the installed measure-text.js (an Ink update that changes it is noticed here)', async () => {
    const { code, warnings } = await bundled('measure-text.js');
    expect(warnings).toEqual([]);
    expect(code).toContain(`if (cache.size >= ${CACHE_LIMIT}) cache.clear();`);
  });

  it('patches the installed wrap-text.js', async () => {
    const { code, warnings } = await bundled('wrap-text.js');
    expect(warnings).toEqual([]);
    expect(code).toMatch(new RegExp(`if \\(\\+\\+cacheEntries > ${CACHE_LIMIT}\\)`));
  });

  it('the bounded measure-text still measures', async () => {
    const { code } = await bundled('measure-text.js');
    const url = `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`;
    const measure = ((await import(url)) as { default: (t: string) => { width: number; height: number } }).default;
    for (let i = 0; i < CACHE_LIMIT * 2; i++) expect(measure(`cpu ${i}%`).width).toBe(`cpu ${i}%`.length);
    expect(measure('ab\ncdef')).toEqual({ width: 4, height: 2 });
  });
});
