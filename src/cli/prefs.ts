import Conf from 'conf';
import { BentoError } from '../vm/errors.js';
import { DEFAULT_ESCAPE, ESCAPE_RULE, parseEscapeKey } from '../console/escape-key.js';

/** User preferences, kept in $BENTO_HOME/preferences.json. */
export interface Preferences {
  /** The console escape key, virsh style (`^]`). */
  escapeKey: string;
}

/** Opens the preferences store; a hand-edited bad value is reported by name, never silently replaced. */
export function loadPreferences(home: string): Preferences {
  const store = new Conf<Preferences>({
    cwd: home,
    configName: 'preferences',
    projectVersion: '1.0.0',
    defaults: { escapeKey: DEFAULT_ESCAPE },
    schema: { escapeKey: { type: 'string', pattern: '^\\^[a-zA-Z@[\\\\\\]^_]$' } },
    clearInvalidConfig: false,
    configFileMode: 0o600,
  });
  let prefs: Preferences;
  try {
    prefs = store.store;
  } catch (err) {
    throw new BentoError('invalid-input', `${store.path}: escapeKey ${ESCAPE_RULE} (${(err as Error).message})`);
  }
  parseEscapeKey(prefs.escapeKey);
  return prefs;
}
