import { describe, expect, it } from 'vitest';
import { BentoError } from '../../errors.js';
import { isEntitlementError, mapVzError, wireErrorFrom, type WireError } from './errors.js';

const vz = (nsCode: number, message: string, extra: Partial<WireError> = {}): WireError => ({ kind: 'vz', message, domain: 'VZErrorDomain', nsCode, ...extra });

describe('wireErrorFrom', () => {
  it('keeps the domain, code and kind the addon put on its Error', () => {
    const err = Object.assign(new Error('Invalid virtual machine configuration.'), {
      kind: 'vz', domain: 'VZErrorDomain', nsCode: 2, failureReason: 'The storage device attachment is invalid.',
    });
    expect(wireErrorFrom(err)).toEqual({
      kind: 'vz', message: 'Invalid virtual machine configuration.', domain: 'VZErrorDomain', nsCode: 2, failureReason: 'The storage device attachment is invalid.',
    });
  });

  it('keeps an NSException name', () => {
    const err = Object.assign(new Error('-[VZVirtualMachine start]: bad'), { kind: 'exception', exceptionName: 'NSInternalInconsistencyException' });
    expect(wireErrorFrom(err)).toEqual({ kind: 'exception', message: '-[VZVirtualMachine start]: bad', exceptionName: 'NSInternalInconsistencyException' });
  });

  it('classifies BentoErrors and anything else', () => {
    expect(wireErrorFrom(new BentoError('unsupported', 'old mac')).kind).toBe('unsupported');
    expect(wireErrorFrom(new BentoError('invalid-input', 'bad')).kind).toBe('config');
    expect(wireErrorFrom('a string')).toEqual({ kind: 'internal', message: 'a string' });
  });
});

describe('mapVzError', () => {
  it('says what to run when the entitlement is missing, from the helper check or the NSError text', () => {
    const fromCheck = mapVzError({ kind: 'entitlement', message: '/usr/bin/node lacks it' }, 'start');
    const fromNsError = mapVzError(
      vz(2, 'Invalid virtual machine configuration.', { failureReason: 'The process doesn’t have the “com.apple.security.virtualization” entitlement.' }),
      'start',
    );
    for (const e of [fromCheck, fromNsError]) {
      expect(e.code).toBe('start-failed');
      expect(e.message).toMatch(/^start-failed: .*lacks the com\.apple\.security\.virtualization entitlement; run `bash .*scripts\/sign-node\.sh`/);
    }
    expect(isEntitlementError(vz(2, 'other config problem'))).toBe(false);
  });

  it('explains an addon built for another node', () => {
    const e = mapVzError({ kind: 'binding', message: 'was compiled against a different Node.js version using NODE_MODULE_VERSION 115' }, 'start');
    expect(e.code).toBe('unsupported');
    expect(e.message).toMatch(/different Node\.js versions; run `bash .*sign-node\.sh` again/);
  });

  it.each([
    [vz(2, 'Invalid virtual machine configuration.', { failureReason: 'The memory size is too small.' }), 'start', 'start-failed',
      'start-failed: Invalid virtual machine configuration. The memory size is too small. [VZErrorDomain 2: invalid virtual machine configuration]'],
    [vz(5, 'The disk image is invalid.'), 'start', 'start-failed', 'start-failed: The disk image is invalid. [VZErrorDomain 5: invalid disk image (vz takes raw images)]'],
    [vz(3, 'Invalid virtual machine state.'), 'pause', 'invalid-state', 'pause failed: Invalid virtual machine state. [VZErrorDomain 3: invalid virtual machine state]'],
    [vz(4, 'Invalid state transition.'), 'resume', 'invalid-state', 'resume failed: Invalid state transition. [VZErrorDomain 4: invalid state transition]'],
    [vz(10, 'Not supported.'), 'save', 'unsupported', 'save failed: Not supported. [VZErrorDomain 10: not supported on this Mac]'],
    [vz(11, 'Save failed.'), 'save', 'internal', 'save failed: Save failed. [VZErrorDomain 11: saving the VM state failed]'],
    [{ kind: 'vz', message: 'Operation not permitted', domain: 'NSPOSIXErrorDomain', nsCode: 1 }, 'start', 'start-failed', 'start-failed: Operation not permitted [NSPOSIXErrorDomain 1]'],
    [{ kind: 'exception', message: 'bad selector', exceptionName: 'NSInvalidArgumentException' }, 'start', 'start-failed', 'start-failed: bad selector [NSInvalidArgumentException]'],
    [{ kind: 'unsupported', message: 'stop needs macOS 12' }, 'stop', 'unsupported', 'stop failed: stop needs macOS 12'],
    [{ kind: 'state', message: 'the VM is not running' }, 'pause', 'invalid-state', 'pause failed: the VM is not running'],
    [{ kind: 'protocol', message: 'not a valid request' }, 'query', 'internal', 'query failed: not a valid request'],
  ] as const)('%j during %s -> %s', (wire, op, code, message) => {
    const e = mapVzError(wire as WireError, op);
    expect(e).toBeInstanceOf(BentoError);
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
  });
});

describe('loadVzBindingFrom', () => {
  it('says in one line why the addon is missing and how to build it, then lists every try', async () => {
    const { loadVzBindingFrom } = await import('./binding.js');
    let err: unknown;
    try {
      loadVzBindingFrom(['/nonexistent/Release/bento_vz.node', '/nonexistent/Debug/bento_vz.node']);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BentoError);
    const [first, ...rest] = (err as BentoError).message.split('\n');
    expect(first).toBe(
      'the vz addon (bento_vz.node) is not available (/nonexistent/Release/bento_vz.node (missing)); it is built on macOS by `npm rebuild bento`, which needs the Xcode command line tools',
    );
    expect(rest).toEqual(['tried:', '  /nonexistent/Release/bento_vz.node (missing)', '  /nonexistent/Debug/bento_vz.node (missing)']);
  });
});

describe('loadVzBindingFrom with a real addon that is not the vz one', () => {
  it('refuses bento_native.node instead of calling functions it lacks', async () => {
    const path = await import('node:path');
    const fs = await import('node:fs');
    const { loadVzBindingFrom } = await import('./binding.js');
    const native = path.resolve(import.meta.dirname, '../../../../native/build/Release/bento_native.node');
    expect(fs.existsSync(native)).toBe(true);
    expect(() => loadVzBindingFrom([native])).toThrow(`(${native} (not the vz addon))`);
  });
});
