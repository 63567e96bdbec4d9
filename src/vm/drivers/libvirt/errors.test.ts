import { expect, test } from 'vitest';
import { libvirtError } from '../../../../test/helpers/fake-libvirt.js';
import { BentoError, HTTP_STATUS } from '../../errors.js';
import { fromLibvirtError } from './errors.js';

test('libvirt errors map onto bento codes, keeping libvirt\'s message after the VM name', () => {
  const cases: Array<[Error, string, boolean?]> = [
    [libvirtError('VIR_ERR_NO_DOMAIN', 42, "Domain not found: no domain with matching name 'x'"), 'not-found'],
    [libvirtError('VIR_ERR_OPERATION_INVALID', 55, 'Requested operation is not valid: domain is not running'), 'invalid-state'],
    [libvirtError('VIR_ERR_OPERATION_DENIED', 29, 'operation forbidden: read only access'), 'forbidden'],
    [libvirtError('VIR_ERR_AUTH_FAILED', 45, 'authentication failed'), 'forbidden'],
    [libvirtError('BENTO_CLOSED', -1, 'libvirt connection to qemu:///system is closed'), 'host-unreachable'],
    [libvirtError('VIR_ERR_SYSTEM_ERROR', 38, "Failed to connect socket to '/run/libvirt/libvirt-sock': No such file or directory"), 'host-unreachable', true],
    [libvirtError('VIR_ERR_RPC', 39, 'End of file while reading data'), 'host-unreachable', true],
    [libvirtError('VIR_ERR_RPC', 39, 'End of file while reading data'), 'libvirt-error', false],
    [libvirtError('VIR_ERR_INTERNAL_ERROR', 1, 'internal error: qemu unexpectedly closed the monitor'), 'libvirt-error'],
    // By number when the binding did not know the name.
    [libvirtError('VIR_ERR_42', 42, 'Domain not found'), 'not-found'],
  ];
  for (const [err, code, connecting] of cases) {
    const e = fromLibvirtError(err, 'lab1/web', { connecting: connecting ?? false });
    expect([err.message, e.code]).toEqual([err.message, code]);
    expect(e.message).toBe(`lab1/web: ${err.message}`);
    expect(e.cause).toBe(err);
  }
  expect(HTTP_STATUS['host-unreachable']).toBe(503);
  expect(HTTP_STATUS['libvirt-error']).toBe(502);
  // Anything else passes through as bento's own.
  const own = new BentoError('timeout', 'late');
  expect(fromLibvirtError(own, 'x')).toBe(own);
  expect(fromLibvirtError(new Error('boom'), 'x').code).toBe('internal');
});
