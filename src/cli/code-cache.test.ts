import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cacheFileFor, codeCacheDir, loadCachedScript } from './code-cache.js';

interface Exports {
  answer: () => number;
  url: string;
  dir: string;
  hasRequire: boolean;
}

let tmp: string;
let script: string;
let dir: string;
// Enough functions that V8's cache has something to hold.
const BODY = `
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
module.exports = { answer: () => fib(10) - 13, url: __bentoScriptUrl, dir: __dirname, hasRequire: typeof require('node:path').join === 'function' };
module.exports.answer();
`;

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bento-code-cache-'));
  script = path.join(tmp, 'tui.cjs');
  fs.writeFileSync(script, BODY);
  dir = path.join(tmp, 'cache', 'bento', 'code-cache');
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const load = (d: string | null = dir) => loadCachedScript<Exports>(script, d);
const cacheFiles = (): string[] => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

describe('codeCacheDir', () => {
  it('is under XDG_CACHE_HOME when that is absolute, else ~/.cache', () => {
    expect(codeCacheDir({ XDG_CACHE_HOME: '/x/cache' })).toBe('/x/cache/bento/code-cache');
    expect(codeCacheDir({ XDG_CACHE_HOME: 'relative' })).toBe(path.join(os.homedir(), '.cache', 'bento', 'code-cache'));
    expect(codeCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'bento', 'code-cache'));
  });
});

describe('loadCachedScript', () => {
  it('runs the script with its module environment, saves a private cache, and uses it next time', () => {
    const first = load();
    expect(first.cache).toBe('miss');
    expect(first.exports.answer()).toBe(42);
    expect(first.exports.url).toBe(pathToFileURL(script).href);
    expect(first.exports.dir).toBe(tmp);
    expect(first.exports.hasRequire).toBe(true);
    expect(first.save()).toBe(true);
    expect(first.save()).toBe(false); // once is enough
    expect(cacheFiles()).toHaveLength(1);
    expect(fs.statSync(first.file!).mode & 0o777).toBe(0o600);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);

    const second = load();
    expect(second.cache).toBe('hit');
    expect(second.file).toBe(first.file);
    expect(second.exports.answer()).toBe(42);
    expect(second.save()).toBe(false); // a hit is not rewritten
  });

  it('ignores a corrupt cache (a flipped byte, a truncated or foreign file), runs from source and replaces it', () => {
    const saved = load();
    saved.save();
    const file = saved.file!;
    const data = fs.readFileSync(file);
    data[data.length - 10]! ^= 0xff;
    fs.writeFileSync(file, data);
    const flipped = load();
    expect(flipped.cache).toBe('corrupt');
    expect(flipped.exports.answer()).toBe(42);
    expect(flipped.save()).toBe(true);
    expect(load().cache).toBe('hit');

    fs.writeFileSync(file, data.subarray(0, 12));
    expect(load().cache).toBe('corrupt');
    fs.writeFileSync(file, 'not a cache at all, but long enough to have a header and a payload');
    const foreign = load();
    expect(foreign.cache).toBe('corrupt');
    expect(foreign.exports.answer()).toBe(42);
  });

  it('survives bytecode V8 refuses (another script, another V8): rejected, run from source, rewritten', () => {
    // Another script's cache, well formed, under the name of a script this process never compiled
    // (V8 would otherwise reuse its in-memory compilation and never look at the cache).
    const other = path.join(tmp, 'other.cjs');
    fs.writeFileSync(other, 'module.exports = { other: [1, 2, 3].map((x) => x * 2) };');
    const otherCache = loadCachedScript<object>(other, path.join(tmp, 'other-cache'));
    expect(otherCache.save()).toBe(true);
    fs.writeFileSync(script, `${BODY}\nmodule.exports.unique = ${JSON.stringify(`${process.pid}-${Date.now()}-${Math.random()}`)};\n`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.copyFileSync(otherCache.file!, cacheFileFor(script, dir));
    const rejected = load();
    expect(rejected.cache).toBe('rejected');
    expect(rejected.exports.answer()).toBe(42);
    expect(rejected.save()).toBe(true);
  });

  it('is used by the next process (V8 accepts what the previous one saved)', () => {
    const runner = path.join(tmp, 'runner.mjs');
    const module = pathToFileURL(path.join(import.meta.dirname, 'code-cache.ts')).href;
    fs.writeFileSync(
      runner,
      `const { loadCachedScript } = await import(${JSON.stringify(module)});\n` +
        `const s = loadCachedScript(${JSON.stringify(script)}, ${JSON.stringify(dir)});\n` +
        `s.save();\nconsole.log(s.cache, s.exports.answer());\n`,
    );
    const run = (): string => execFileSync(process.execPath, ['--import', 'tsx', runner], { encoding: 'utf8' }).trim();
    expect(run()).toBe('miss 42');
    expect(run()).toBe('hit 42');
  });

  it('uses a new cache when the script changes, and drops the stale one', () => {
    const before = load();
    before.save();
    fs.writeFileSync(script, `${BODY}\nmodule.exports.changed = true;\n`);
    fs.utimesSync(script, new Date(), new Date(Date.now() + 5000));
    const after = load();
    expect(after.cache).toBe('miss');
    expect(after.file).not.toBe(before.file);
    after.save();
    expect(cacheFiles()).toEqual([path.basename(after.file!)]);
  });

  it('drops caches of another install of the script once nobody has refreshed them for a month', () => {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const old = path.join(dir, 'tui.cjs-0badf00d-v0-old.v8');
    const recent = path.join(dir, 'tui.cjs-0badf00d-v0-recent.v8');
    const unrelated = path.join(dir, 'other.cjs-0badf00d-v0-old.v8');
    for (const f of [old, recent, unrelated]) fs.writeFileSync(f, 'x', { mode: 0o600 });
    const longAgo = new Date(Date.now() - 40 * 24 * 3600 * 1000);
    fs.utimesSync(old, longAgo, longAgo);
    fs.utimesSync(unrelated, longAgo, longAgo);
    expect(load().save()).toBe(true);
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(recent)).toBe(true);
    expect(fs.existsSync(unrelated)).toBe(true);
  });

  it('does not trust a cache file or directory others can write', () => {
    const saved = load();
    saved.save();
    fs.chmodSync(saved.file!, 0o666);
    expect(load().cache).toBe('unsafe');
    fs.chmodSync(saved.file!, 0o600);
    fs.chmodSync(dir, 0o777);
    const unsafe = load();
    expect(unsafe.cache).toBe('unsafe');
    expect(unsafe.exports.answer()).toBe(42);
    expect(unsafe.save()).toBe(false); // nor writes into such a directory
    fs.chmodSync(dir, 0o700);
    expect(load().cache).toBe('hit');
  });

  it('does not follow a symlink in place of the cache file', () => {
    const saved = load();
    saved.save();
    const real = path.join(tmp, 'elsewhere.v8');
    fs.renameSync(saved.file!, real);
    fs.symlinkSync(real, saved.file!);
    expect(load().cache).toBe('miss');
  });

  it('runs without a cache when the cache directory cannot be made, and saving just says no', () => {
    fs.writeFileSync(path.join(tmp, 'cache'), 'a file where the cache directory would go');
    const noDir = load();
    expect(noDir.cache).toBe('miss');
    expect(noDir.exports.answer()).toBe(42);
    expect(noDir.save()).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('with no cache directory, only runs the script', () => {
    const off = load(null);
    expect(off.cache).toBe('off');
    expect(off.file).toBeNull();
    expect(off.exports.answer()).toBe(42);
    expect(off.save()).toBe(false);
  });

  it('throws the script own errors', () => {
    fs.writeFileSync(script, 'throw new Error("broken script");');
    expect(() => load()).toThrow('broken script');
  });
});
