import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPackageRoot } from '../../../native/native.js';
import { BentoError, errorMessage, type ErrorCode } from '../../errors.js';
import type { VzErrorInfo } from './binding.js';

/** An error as it crosses the helper's control socket or startup line. */
export interface WireError {
  /** Where it came from: the addon's kinds, plus the helper's own (binding, entitlement, protocol, internal). */
  kind: NonNullable<VzErrorInfo['kind']> | 'binding' | 'entitlement' | 'protocol' | 'internal';
  message: string;
  domain?: string;
  nsCode?: number;
  failureReason?: string;
  exceptionName?: string;
}

/** The entitlement a process needs to create VMs; it belongs to the executable (node), not the addon. */
export const VZ_ENTITLEMENT = 'com.apple.security.virtualization';
/** Virtualization.framework's NSError domain. */
export const VZ_ERROR_DOMAIN = 'VZErrorDomain';

/** VZErrorCode values (VZError.h) with what bento says about them. */
export const VZ_ERROR_CODES: Readonly<Record<number, string>> = {
  1: 'internal error',
  2: 'invalid virtual machine configuration',
  3: 'invalid virtual machine state',
  4: 'invalid state transition',
  5: 'invalid disk image (vz takes raw images)',
  6: 'too many virtual machines are running',
  7: 'network error',
  8: 'the host is out of disk space',
  9: 'operation cancelled',
  10: 'not supported on this Mac',
  11: 'saving the VM state failed',
  12: 'restoring the VM state failed',
};

/** The command that makes a node able to host vz VMs. */
export function signNodeCommand(): string {
  const root = findPackageRoot(path.dirname(fileURLToPath(import.meta.url))) ?? '<bento checkout>';
  return `bash ${path.join(root, 'scripts', 'sign-node.sh')}`;
}

/** Whether an error says the process lacks the virtualization entitlement. */
export function isEntitlementError(e: WireError): boolean {
  if (e.kind === 'entitlement') return true;
  // validateWithError: reports it as VZErrorInvalidVirtualMachineConfiguration, naming the entitlement.
  const text = `${e.message} ${e.failureReason ?? ''}`;
  return (e.domain === VZ_ERROR_DOMAIN || e.domain === undefined) && text.includes(VZ_ENTITLEMENT);
}

/** Anything thrown in the helper, as a WireError (keeps the addon's domain, code and kind). */
export function wireErrorFrom(err: unknown, fallback: WireError['kind'] = 'internal'): WireError {
  if (err instanceof BentoError) {
    const kind = err.code === 'unsupported' ? 'unsupported' : err.code === 'invalid-input' ? 'config' : fallback;
    return { kind, message: err.message };
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as Partial<VzErrorInfo>;
  const out: WireError = { kind: e.kind ?? (e.domain ? 'vz' : fallback), message: errorMessage(err) };
  if (typeof e.domain === 'string') out.domain = e.domain;
  if (typeof e.nsCode === 'number') out.nsCode = e.nsCode;
  if (typeof e.failureReason === 'string' && e.failureReason) out.failureReason = e.failureReason;
  if (typeof e.exceptionName === 'string') out.exceptionName = e.exceptionName;
  return out;
}

function codeFor(e: WireError, op: string): ErrorCode {
  if (e.kind === 'unsupported' || e.kind === 'binding') return 'unsupported';
  if (e.kind === 'state' || (e.domain === VZ_ERROR_DOMAIN && (e.nsCode === 3 || e.nsCode === 4))) return 'invalid-state';
  if (e.kind === 'protocol' || e.kind === 'internal') return 'internal';
  if (e.domain === VZ_ERROR_DOMAIN && e.nsCode === 10) return 'unsupported';
  return op === 'start' ? 'start-failed' : 'internal';
}

function detail(e: WireError): string {
  const parts = [e.message];
  if (e.failureReason && !e.message.includes(e.failureReason)) parts.push(e.failureReason);
  if (e.domain !== undefined) {
    const label = e.domain === VZ_ERROR_DOMAIN && e.nsCode !== undefined ? VZ_ERROR_CODES[e.nsCode] : undefined;
    parts.push(`[${e.domain} ${e.nsCode ?? '?'}${label ? `: ${label}` : ''}]`);
  } else if (e.exceptionName) {
    parts.push(`[${e.exceptionName}]`);
  }
  return parts.join(' ');
}

/**
 * Maps a vz failure to a BentoError with a stable code, keeping domain and code in the message, and
 * saying what to run when the node lacks the entitlement or the addon does not match it.
 */
export function mapVzError(e: WireError, op: string): BentoError {
  const prefix = op === 'start' ? 'start-failed: ' : `${op} failed: `;
  if (isEntitlementError(e)) {
    return new BentoError(
      'start-failed',
      `${prefix}the node that hosts vz VMs lacks the ${VZ_ENTITLEMENT} entitlement; run \`${signNodeCommand()}\` to make a signed copy`,
      { cause: e },
    );
  }
  if (e.kind === 'binding' && /NODE_MODULE_VERSION|different Node\.js version/.test(e.message)) {
    return new BentoError(
      'unsupported',
      `${prefix}the signed node and the vz addon were built for different Node.js versions; run \`${signNodeCommand()}\` again with the node that built bento (${process.version})`,
      { cause: e },
    );
  }
  return new BentoError(codeFor(e, op), prefix + detail(e), { cause: e });
}
