import fs from 'node:fs';
import path from 'node:path';
import type { Preferences } from './prefs.js';

/** Where `conf` keeps the preferences (prefs.ts: cwd home, configName preferences). */
const FILE = 'preferences.json';
/** The same rule as prefs.ts's schema and escape-key.ts's parser. */
const ESCAPE = /^\^[a-zA-Z@[\\\]^_]$/;

/**
 * The preferences read straight from their file when it holds exactly what bento writes and every
 * value is valid; null otherwise (missing, unreadable, hand-edited into anything else), and then the
 * caller goes through prefs.ts, whose `conf` store creates the file and reports bad values by name.
 * This spares the TUI's first frame `conf` and its schema compiler (ajv), some 50-70 ms.
 */
export function quickPreferences(home: string): Preferences | null {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(path.join(home, FILE), 'utf8'));
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return null;
  // bentod keeps the libvirt hosts beside it (src/cli/hosts-store.ts); the TUI gets those from bentod.
  const keys = Object.keys(data).filter((k) => k !== 'hosts');
  const escapeKey = (data as { escapeKey?: unknown }).escapeKey;
  const hosts = (data as { hosts?: unknown }).hosts;
  if (hosts !== undefined && !Array.isArray(hosts)) return null;
  if (keys.length !== 1 || typeof escapeKey !== 'string' || !ESCAPE.test(escapeKey)) return null;
  return { escapeKey };
}
