import { BentoError, toBentoError } from '../../errors.js';
import { isLibvirtError, type LibvirtError } from './binding.js';
import { VIR_ERR } from './constants.js';

type CodeName = keyof typeof VIR_ERR;

/** Whether a libvirt error is the named virErrorNumber (by its name, or by its number), or the binding's BENTO_CLOSED. */
function codeIs(err: LibvirtError, name: CodeName | 'BENTO_CLOSED'): boolean {
  if (name === 'BENTO_CLOSED') return err.codeName === name;
  return err.codeName === `VIR_ERR_${name}` || err.code === VIR_ERR[name];
}

/**
 * Turns an error of the libvirt binding into bento's: no such domain -> not-found; not valid in the
 * domain's state -> invalid-state (libvirt's message, prefixed with the VM name); denied or failed
 * authentication -> forbidden; a closed connection, or an RPC/system error while connecting ->
 * host-unreachable; anything else -> libvirt-error. Other errors (timeouts, bento's own) pass through
 * toBentoError. `what` names the VM (HOST/VM) or the host the call was about.
 */
export function fromLibvirtError(err: unknown, what: string, opts: { connecting?: boolean } = {}): BentoError {
  if (!isLibvirtError(err)) return toBentoError(err, what);
  const msg = err.message;
  const is = (...names: Array<CodeName | 'BENTO_CLOSED'>): boolean => names.some((n) => codeIs(err, n));
  if (is('BENTO_CLOSED')) return new BentoError('host-unreachable', `${what}: ${msg}`, { cause: err });
  if (is('NO_DOMAIN')) return new BentoError('not-found', `${what}: ${msg}`, { cause: err });
  if (is('OPERATION_INVALID')) return new BentoError('invalid-state', `${what}: ${msg}`, { cause: err });
  if (is('OPERATION_DENIED', 'AUTH_FAILED', 'AUTH_CANCELLED', 'AUTH_UNAVAILABLE', 'ACCESS_DENIED')) {
    return new BentoError('forbidden', `${what}: ${msg}`, { cause: err });
  }
  if (is('NO_CONNECT', 'INVALID_CONN') || (opts.connecting && is('RPC', 'SYSTEM_ERROR'))) {
    return new BentoError('host-unreachable', `${what}: ${msg}`, { cause: err });
  }
  return new BentoError('libvirt-error', `${what}: ${msg}`, { cause: err });
}
