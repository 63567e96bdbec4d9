import { describe, expect, test } from 'vitest';
import { BentoError } from './errors.js';
import { HOST_NAME_RE, joinVmName, LOCAL_HOST, splitVmName, validateHostName, validateHostUri } from './host-name.js';

function refusal(fn: () => unknown): BentoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BentoError);
    return e as BentoError;
  }
  throw new Error('expected a refusal');
}

describe('VM names', () => {
  test('HOST/VM splits at the first slash; a plain name and local/NAME are local', () => {
    expect(splitVmName('web')).toEqual({ host: LOCAL_HOST, vm: 'web' });
    expect(splitVmName('local/web')).toEqual({ host: 'local', vm: 'web' });
    expect(splitVmName('lab1/web')).toEqual({ host: 'lab1', vm: 'web' });
    expect(joinVmName('local', 'web')).toBe('web');
    expect(joinVmName('lab1', 'web')).toBe('lab1/web');
  });
});

describe('host names', () => {
  test('lower-case letters, digits, - and _ inside, up to 32; local is reserved', () => {
    for (const ok of ['a', 'lab1', 'lab-2', 'x_y', 'a'.repeat(32)]) expect(validateHostName(ok)).toBe(ok);
    for (const bad of ['', 'Lab1', '-a', 'a-', 'a b', 'a/b', 'a'.repeat(33), 'é']) {
      expect(HOST_NAME_RE.test(bad)).toBe(false);
      expect(refusal(() => validateHostName(bad)).fields?.[0]?.field).toBe('name');
    }
    expect(refusal(() => validateHostName('local')).message).toMatch(/reserved/);
    expect(refusal(() => validateHostName(7)).fields).toEqual([{ field: 'name', message: 'must be a string' }]);
  });
});

describe('host URIs', () => {
  test('libvirt URIs pass; anything else is refused naming uri', () => {
    for (const ok of ['qemu:///system', 'qemu+ssh://user@host/system', 'qemu+tcp://127.0.0.1:16509/system', 'test:///default', 'qemu:///system?socket=/run/x.sock']) expect(validateHostUri(ok)).toBe(ok);
    for (const bad of ['', 'host', '/var/run/libvirt', 'qemu: ///system', 'QEMU:///system', 'qemu:///sys\ntem', 7]) {
      expect(refusal(() => validateHostUri(bad)).fields?.[0]?.field).toBe('uri');
    }
  });

  test('a password in the URI is refused without repeating it: credentials are libvirt\'s own', () => {
    const e = refusal(() => validateHostUri('qemu+ssh://root:s3cret@host/system'));
    expect(e.fields).toEqual([{ field: 'uri', message: expect.stringMatching(/SSH agent, TLS certificates or SASL/) }]);
    expect(e.message).not.toContain('s3cret');
    // A user alone is fine, and so is a ':' in the path or query.
    expect(validateHostUri('qemu+ssh://root@host/system?keyfile=/a:b')).toBe('qemu+ssh://root@host/system?keyfile=/a:b');
  });
});
