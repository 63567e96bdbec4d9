/**
 * Host names and HOST/VM names (contract section 2). Pure: no node imports, so the TUI and the CLI's
 * fast paths import it too. A VM on a libvirt host is named `HOST/DOMAIN` everywhere; a local VM keeps
 * its plain name, and `local/NAME` is accepted as an alias of `NAME`.
 */
import { BentoError } from './errors.js';

/** A configured host's name: lower-case letters, digits, `_` and `-`, 1-32 long, no separator at either end. */
export const HOST_NAME_RE = /^[a-z0-9](?:[a-z0-9_-]{0,30}[a-z0-9])?$/;

/** The name of the local bentod engine as a host (reserved: no configured host may take it). */
export const LOCAL_HOST = 'local';

/** What a libvirt URI must start with: a scheme and `://`. */
const URI_RE = /^[a-z][a-z0-9+.-]*:\/\//;

/** The host and the host's own name of a VM name: no `/` is a local VM; `local/x` is the local x. */
export function splitVmName(name: string): { host: string; vm: string } {
  const i = name.indexOf('/');
  if (i < 0) return { host: LOCAL_HOST, vm: name };
  return { host: name.slice(0, i), vm: name.slice(i + 1) };
}

/** The VM name of `vm` on `host`: the plain name on the local host, `HOST/VM` on any other. */
export function joinVmName(host: string, vm: string): string {
  return host === LOCAL_HOST ? vm : `${host}/${vm}`;
}

function invalid(field: string, message: string): BentoError {
  return new BentoError('invalid-input', `invalid host: ${field} ${message}`, { fields: [{ field, message }] });
}

/** A valid name for a new host, or an invalid-input error naming the field `name` and the rule. */
export function validateHostName(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw invalid('name', 'is required: a host name such as lab1');
  if (v === LOCAL_HOST) throw invalid('name', `"${LOCAL_HOST}" is reserved for this machine's own VMs`);
  if (!HOST_NAME_RE.test(v)) throw invalid('name', `"${v}" must be 1-32 lower-case letters, digits, _ or -, starting and ending with a letter or digit`);
  return v;
}

/**
 * A valid libvirt URI for a host, or an invalid-input error naming the field `uri`: it must start
 * with a scheme and `://` (qemu+ssh://user@host/system, qemu:///system) and carry no password.
 */
export function validateHostUri(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw invalid('uri', 'is required: a libvirt URI such as qemu+ssh://user@host/system');
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\s\x00-\x1f\x7f]/.test(v)) throw invalid('uri', 'must not contain spaces or control characters');
  if (!URI_RE.test(v)) throw invalid('uri', `"${v}" must be a libvirt URI: a lower-case scheme and :// (qemu+ssh://user@host/system, qemu:///system)`);
  const rest = v.slice(v.indexOf('://') + 3);
  const authority = rest.split(/[/?#]/, 1)[0] ?? '';
  const at = authority.lastIndexOf('@');
  if (at >= 0 && authority.slice(0, at).includes(':')) {
    throw invalid('uri', "must not carry a password: credentials are libvirt's own: SSH agent, TLS certificates or SASL");
  }
  return v;
}
