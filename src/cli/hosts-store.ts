import Conf from 'conf';
import type { HostEntry, HostsStore } from '../vm/hosts.js';

/**
 * The configured libvirt hosts, kept as `hosts: [{name, uri}]` in $BENTO_HOME/preferences.json (the
 * same conf store as prefs.ts; conf re-reads the file on every access and writes it whole and
 * atomically, so the escape key and the hosts live side by side). Entries are returned as written:
 * the registry checks each and skips (and logs) a hand-edited bad one, so bentod still starts.
 */
export function confHostsStore(home: string): HostsStore {
  const store = new Conf<{ hosts?: unknown }>({
    cwd: home,
    configName: 'preferences',
    projectVersion: '1.0.0',
    clearInvalidConfig: false,
    configFileMode: 0o600,
  });
  const read = (): HostEntry[] => {
    const v = store.get('hosts');
    return Array.isArray(v) ? (v as HostEntry[]) : [];
  };
  return {
    list: read,
    add: (entry) => store.set('hosts', [...read(), { name: entry.name, uri: entry.uri }]),
    remove: (name) => store.set('hosts', read().filter((h) => h?.name !== name)),
  };
}
