import { describe, expect, test } from 'vitest';
import { BentoError } from './errors.js';
import { HOST_NAME_RE, LOCAL_HOST, joinVmName, splitVmName, validateHostName, validateHostUri } from './host-name.js';

function fieldError(fn: () => unknown): { code: string; message: string; fields: unknown } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BentoError);
    const e = err as BentoError;
    return { code: e.code, message: e.message, fields: e.fields };
  }
  throw new Error('expected a BentoError');
}

describe('HOST/VM names', () => {
  test('a name without a slash is a local VM; local/x is the local x; HOST/VM splits at the first slash', () => {
    expect(splitVmName('web')).toEqual({ host: LOCAL_HOST, vm: 'web' });
    expect(splitVmName('local/web')).toEqual({ host: 'local', vm: 'web' });
    expect(splitVmName('lab1/db')).toEqual({ host: 'lab1', vm: 'db' });
    expect(splitVmName('lab1/a/b')).toEqual({ host: 'lab1', vm: 'a/b' });
  });

  test('joining a local VM gives its plain name, any other host HOST/VM; split undoes join', () => {
    expect(joinVmName('local', 'web')).toBe('web');
    expect(joinVmName('lab1', 'web')).toBe('lab1/web');
    for (const [h, v] of [['local', 'x'], ['lab-2', 'db.1']] as const) expect(splitVmName(joinVmName(h, v))).toEqual({ host: h, vm: v });
  });
});

describe('host names', () => {
  test.each(['a', 'lab1', 'lab_2', 'x-y', 'a'.repeat(32), '0'])('%s is a valid host name', (v) => {
    expect(HOST_NAME_RE.test(v)).toBe(true);
    expect(validateHostName(v)).toBe(v);
  });

  test.each([
    ['', 'is required'],
    ['Lab1', 'must be 1-32 lower-case letters'],
    ['-lab', 'must be 1-32'],
    ['lab-', 'must be 1-32'],
    ['a'.repeat(33), 'must be 1-32'],
    ['lab/1', 'must be 1-32'],
    ['lab 1', 'must be 1-32'],
    ['local', 'reserved'],
  ])('%j is refused (%s)', (v, why) => {
    const e = fieldError(() => validateHostName(v));
    expect(e.code).toBe('invalid-input');
    expect(e.message).toContain(why);
    expect(e.fields).toEqual([{ field: 'name', message: expect.stringContaining(why) }]);
  });

  test('a value that is not a string is refused, naming the field', () => {
    expect(fieldError(() => validateHostName(42)).fields).toEqual([{ field: 'name', message: expect.stringContaining('required') }]);
    expect(fieldError(() => validateHostUri(null)).fields).toEqual([{ field: 'uri', message: expect.stringContaining('required') }]);
  });
});

describe('host URIs', () => {
  test.each(['qemu+ssh://root@lab1/system', 'qemu+tcp://127.0.0.1:16509/system', 'qemu:///system?socket=/tmp/x/libvirt-sock', 'test:///default', 'qemu+tls://host.example/system?pkipath=/p'])(
    '%s is accepted as it is',
    (v) => expect(validateHostUri(v)).toBe(v),
  );

  test.each([
    ['lab1', 'must be a libvirt URI'],
    ['QEMU:///system', 'must be a libvirt URI'],
    ['qemu:/system', 'must be a libvirt URI'],
    ['qemu+ssh://root:secret@lab1/system', 'must not carry a password'],
    ['qemu+ssh://root:@lab1/system', 'must not carry a password'],
    ['qemu:///system ', 'spaces or control characters'],
  ])('%j is refused (%s)', (v, why) => {
    const e = fieldError(() => validateHostUri(v));
    expect(e.code).toBe('invalid-input');
    expect(e.fields).toEqual([{ field: 'uri', message: expect.stringContaining(why) }]);
  });

  test('a password refusal says where credentials live; a port after the host is not a password', () => {
    expect(fieldError(() => validateHostUri('qemu+ssh://u:p@h/system')).message).toContain("credentials are libvirt's own: SSH agent, TLS certificates or SASL");
    expect(validateHostUri('qemu+ssh://u@h:2222/system')).toBe('qemu+ssh://u@h:2222/system');
  });
});
