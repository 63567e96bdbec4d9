import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as C from './constants.js';

const INCLUDE = '/usr/include/libvirt';

/** Every enum constant of libvirt's public headers: NAME -> value (`1 << n` evaluated). */
function headerValues(): Map<string, number> {
  const files = ['libvirt-domain.h', 'libvirt-common.h', 'virterror.h'].map((f) => `${INCLUDE}/${f}`);
  const missing = files.filter((f) => !fs.existsSync(f));
  if (missing.length) throw new Error(`libvirt's headers are missing (${missing.join(', ')}): install libvirt-dev (scripts/setup.sh)`);
  const values = new Map<string, number>();
  for (const f of files) {
    for (const [, name = '', expr = ''] of fs.readFileSync(f, 'utf8').matchAll(/^\s*(VIR_[A-Z0-9_]+)\s*=\s*([^,/\n]+?)\s*(?:,|\/\*|\n)/gm)) {
      const shift = /^\(?\s*1\s*<<\s*(\d+)\s*\)?$/.exec(expr);
      if (shift) values.set(name, 1 << Number(shift[1]));
      else if (/^-?\d+$/.test(expr)) values.set(name, Number(expr));
    }
  }
  return values;
}

/** Each table of constants.ts and the C prefix its keys carry in the headers. */
const TABLES: [string, Readonly<Record<string, number>>][] = [
  ['VIR_DOMAIN_', C.VIR_DOMAIN_STATE],
  ['VIR_DOMAIN_NOSTATE_', C.VIR_DOMAIN_NOSTATE_REASON],
  ['VIR_DOMAIN_RUNNING_', C.VIR_DOMAIN_RUNNING_REASON],
  ['VIR_DOMAIN_BLOCKED_', C.VIR_DOMAIN_BLOCKED_REASON],
  ['VIR_DOMAIN_PAUSED_', C.VIR_DOMAIN_PAUSED_REASON],
  ['VIR_DOMAIN_SHUTDOWN_', C.VIR_DOMAIN_SHUTDOWN_REASON],
  ['VIR_DOMAIN_SHUTOFF_', C.VIR_DOMAIN_SHUTOFF_REASON],
  ['VIR_DOMAIN_CRASHED_', C.VIR_DOMAIN_CRASHED_REASON],
  ['VIR_DOMAIN_PMSUSPENDED_', C.VIR_DOMAIN_PMSUSPENDED_REASON],
  ['VIR_DOMAIN_EVENT_', C.VIR_DOMAIN_EVENT],
  ['VIR_DOMAIN_EVENT_DEFINED_', C.VIR_DOMAIN_EVENT_DEFINED],
  ['VIR_DOMAIN_EVENT_UNDEFINED_', C.VIR_DOMAIN_EVENT_UNDEFINED],
  ['VIR_DOMAIN_EVENT_STARTED_', C.VIR_DOMAIN_EVENT_STARTED],
  ['VIR_DOMAIN_EVENT_SUSPENDED_', C.VIR_DOMAIN_EVENT_SUSPENDED],
  ['VIR_DOMAIN_EVENT_RESUMED_', C.VIR_DOMAIN_EVENT_RESUMED],
  ['VIR_DOMAIN_EVENT_STOPPED_', C.VIR_DOMAIN_EVENT_STOPPED],
  ['VIR_DOMAIN_EVENT_SHUTDOWN_', C.VIR_DOMAIN_EVENT_SHUTDOWN],
  ['VIR_DOMAIN_EVENT_PMSUSPENDED_', C.VIR_DOMAIN_EVENT_PMSUSPENDED],
  ['VIR_DOMAIN_EVENT_CRASHED_', C.VIR_DOMAIN_EVENT_CRASHED],
  ['VIR_DOMAIN_UNDEFINE_', C.VIR_DOMAIN_UNDEFINE],
  ['VIR_DOMAIN_METADATA_', C.VIR_DOMAIN_METADATA],
  ['VIR_DOMAIN_XML_', C.VIR_DOMAIN_XML],
  ['VIR_DOMAIN_CONSOLE_', C.VIR_DOMAIN_CONSOLE],
  ['VIR_CONNECT_CLOSE_REASON_', C.VIR_CONNECT_CLOSE_REASON],
  ['VIR_ERR_', C.VIR_ERR_LEVEL],
  ['VIR_FROM_', C.VIR_FROM],
  ['VIR_ERR_', C.VIR_ERR],
];

describe('libvirt constants', () => {
  const header = headerValues();

  it.each(TABLES)('%s… match the installed headers', (prefix, table) => {
    for (const [key, value] of Object.entries(table)) {
      const name = `${prefix}${key}`;
      expect(header.has(name), `${name} is not in ${INCLUDE}`).toBe(true);
      expect(value, name).toBe(header.get(name));
    }
  });

  it('has every lifecycle event, state and state reason of libvirt 9.0 (nothing left out)', () => {
    const complete: [RegExp, Readonly<Record<string, number>>][] = [
      [/^VIR_DOMAIN_EVENT_(DEFINED|UNDEFINED|STARTED|SUSPENDED|RESUMED|STOPPED|SHUTDOWN|PMSUSPENDED|CRASHED)$/, C.VIR_DOMAIN_EVENT],
      [/^VIR_DOMAIN_RUNNING_(?!LAST)[A-Z_]+$/, C.VIR_DOMAIN_RUNNING_REASON],
      [/^VIR_DOMAIN_PAUSED_(?!LAST)[A-Z_]+$/, C.VIR_DOMAIN_PAUSED_REASON],
      [/^VIR_DOMAIN_SHUTOFF_(?!LAST)[A-Z_]+$/, C.VIR_DOMAIN_SHUTOFF_REASON],
      [/^VIR_DOMAIN_EVENT_SUSPENDED_[A-Z_]+$/, C.VIR_DOMAIN_EVENT_SUSPENDED],
      [/^VIR_DOMAIN_EVENT_STOPPED_[A-Z_]+$/, C.VIR_DOMAIN_EVENT_STOPPED],
      [/^VIR_DOMAIN_EVENT_RESUMED_[A-Z_]+$/, C.VIR_DOMAIN_EVENT_RESUMED],
      [/^VIR_DOMAIN_EVENT_STARTED_[A-Z_]+$/, C.VIR_DOMAIN_EVENT_STARTED],
    ];
    for (const [re, table] of complete) {
      const inHeader = [...header.keys()].filter((k) => re.test(k)).length;
      expect(Object.keys(table).length, String(re)).toBe(inHeader);
    }
  });

  it('enumKey names a value and returns null for an unknown one', () => {
    expect(C.enumKey(C.VIR_DOMAIN_PAUSED_REASON, 5)).toBe('IOERROR');
    expect(C.enumKey(C.VIR_ERR, C.VIR_ERR.NO_DOMAIN)).toBe('NO_DOMAIN');
    expect(C.enumKey(C.VIR_DOMAIN_STATE, 99)).toBeNull();
  });
});
