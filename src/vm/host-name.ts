/**
 * Host names and the HOST/VM names of VMs on libvirt hosts. Pure (no node imports): the TUI and the
 * CLI use it as well as bentod.
 */
import { BentoError } from './errors.js';

/** A libvirt host's name: lower-case letters, digits, `-` and `_` inside, 1-32 characters. */
export const HOST_NAME_RE = /^[a-z0-9](?:[a-z0-9_-]{0,30}[a-z0-9])?$/;

/** The name of the local bentod engine, reserved. */
export const LOCAL_HOST = 'local';

/** The rule a host name breaks, said once for every refusal. */
export const HOST_NAME_RULE = "must be 1-32 lower-case letters, digits, '-' or '_' (starting and ending with a letter or digit), and not 'local'";

const URI_RE = /^[a-z][a-z0-9+.-]*:\/\//;
/** How long a URI may be. */
const URI_MAX = 1024;

/** Splits `HOST/VM` (a name without '/' is a local VM; `local/x` is the local VM x). */
export function splitVmName(name: string): { host: string; vm: string } {
  const slash = name.indexOf('/');
  if (slash < 0) return { host: LOCAL_HOST, vm: name };
  return { host: name.slice(0, slash), vm: name.slice(slash + 1) };
}

/** The name a VM is shown under: its own for local VMs, `HOST/VM` for others. */
export function joinVmName(host: string, vm: string): string {
  return host === LOCAL_HOST ? vm : `${host}/${vm}`;
}

function invalid(field: string, message: string, value: unknown): BentoError {
  const shown = typeof value === 'string' ? `"${value.slice(0, 80)}"` : JSON.stringify(value) ?? String(value);
  return new BentoError('invalid-input', `${field} ${shown} ${message}`, { fields: [{ field, message }] });
}

/** A new libvirt host's name, or invalid-input naming the field `name`. */
export function validateHostName(v: unknown): string {
  if (typeof v !== 'string') throw invalid('name', 'must be a string', v);
  if (v === LOCAL_HOST) throw invalid('name', "is reserved for this machine's own VMs", v);
  if (!HOST_NAME_RE.test(v)) throw invalid('name', HOST_NAME_RULE, v);
  return v;
}

/**
 * A libvirt connection URI (`qemu:///system`, `qemu+ssh://user@host/system`, `test:///default`), or
 * invalid-input naming the field `uri`. Passwords are refused: credentials are libvirt's own.
 */
export function validateHostUri(v: unknown): string {
  if (typeof v !== 'string') throw invalid('uri', 'must be a string', v);
  if (v.length > URI_MAX) throw invalid('uri', `must be at most ${URI_MAX} characters`, v);
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(v)) throw invalid('uri', 'must not contain spaces or control characters', v);
  if (!URI_RE.test(v)) throw invalid('uri', 'must be a libvirt URI such as qemu:///system or qemu+ssh://user@host/system', v);
  const rest = v.slice(v.indexOf('://') + 3);
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  const at = authority.lastIndexOf('@');
  if (at >= 0 && authority.slice(0, at).includes(':')) {
    throw new BentoError('invalid-input', "uri must not carry a password: credentials are libvirt's own: SSH agent, TLS certificates or SASL", {
      fields: [{ field: 'uri', message: "must not carry a password (credentials are libvirt's own: SSH agent, TLS certificates or SASL)" }],
    });
  }
  return v;
}

/** The host order of every table and list: `local` first, then the hosts by name. */
export function compareHosts(a: string, b: string): number {
  if (a === b) return 0;
  if (a === LOCAL_HOST) return -1;
  if (b === LOCAL_HOST) return 1;
  return a < b ? -1 : 1;
}

/** Whole seconds until an ISO time (a host's next connect attempt), rounded up, never below 0. */
export function secondsUntil(iso: string, now = Date.now()): number {
  return Math.max(0, Math.ceil((Date.parse(iso) - now) / 1000));
}
