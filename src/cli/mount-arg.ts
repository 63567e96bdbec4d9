import path from 'node:path';

/** A `--mount SRC[:DST][:ro]` with a relative SRC made absolute against this process's folder (bentod's differs). */
export function absoluteMountSource(v: string, cwd: string = process.cwd()): string {
  const colon = v.indexOf(':');
  const src = colon < 0 ? v : v.slice(0, colon);
  if (!src || path.isAbsolute(src)) return v;
  return path.resolve(cwd, src) + (colon < 0 ? '' : v.slice(colon));
}
