import { describe, expect, it } from 'vitest';
import { algoForHex, findChecksum, parseChecksumFile, parseInlineChecksum } from './checksum-file.js';

const H256 = 'a'.repeat(64);
const B256 = 'b'.repeat(64);
const H512 = 'c'.repeat(128);
const D512 = 'd'.repeat(128);

const find = (text: string, name: string) => findChecksum(parseChecksumFile(text), name);

describe('checksum files', () => {
  it('GNU format as Debian writes SHA512SUMS (two spaces) and Ubuntu SHA256SUMS (binary marker *)', () => {
    const debian = `${H512}  debian-12-genericcloud-amd64.json\n${D512}  debian-12-genericcloud-amd64.qcow2\n`;
    expect(find(debian, 'debian-12-genericcloud-amd64.qcow2')).toEqual({ algo: 'sha512', hex: D512 });
    const ubuntu = `${H256} *ubuntu-24.04-server-cloudimg-amd64.img\n${B256} *ubuntu-24.04-server-cloudimg-arm64.img\n`;
    expect(find(ubuntu, 'ubuntu-24.04-server-cloudimg-arm64.img')).toEqual({ algo: 'sha256', hex: B256 });
    expect(find(ubuntu, 'ubuntu-24.04-server-cloudimg-riscv64.img')).toBeNull();
  });

  it('Fedora: BSD lines with comments inside a PGP clear-signed wrapper, the signature ignored', () => {
    const name = 'Fedora-Cloud-Base-Generic-44-1.7.x86_64.qcow2';
    const text = [
      '-----BEGIN PGP SIGNED MESSAGE-----',
      'Hash: SHA256',
      '',
      `# ${name}: 524288000 bytes`,
      `SHA256 (${name}) = ${B256.toUpperCase()}`,
      '# Fedora-Cloud-Base-AmazonEC2-44-1.7.x86_64.raw.xz: 400 bytes',
      `SHA256 (Fedora-Cloud-Base-AmazonEC2-44-1.7.x86_64.raw.xz) = ${H256}`,
      '- -dash-escaped line of the signed text',
      '-----BEGIN PGP SIGNATURE-----',
      '',
      `iQIzBAEBCAAdFiEE${H256}`,
      '=abcd',
      '-----END PGP SIGNATURE-----',
      '',
    ].join('\r\n');
    expect(find(text, name)).toEqual({ algo: 'sha256', hex: B256 });
    expect(find(text, 'missing.qcow2')).toBeNull();
  });

  it('Alpine: a per-file .sha512 holding a lone digest, or the digest and the name', () => {
    expect(find(`${D512}\n`, 'nocloud_alpine-3.24.2-x86_64-bios-cloudinit-r0.qcow2')).toEqual({ algo: 'sha512', hex: D512 });
    expect(find(`${D512}  nocloud_alpine.qcow2\n`, 'nocloud_alpine.qcow2')).toEqual({ algo: 'sha512', hex: D512 });
  });

  it('matches ./name and dir/name by basename, prefers sha256 when both are listed, unescapes GNU names', () => {
    expect(find(`${H256}  ./img.qcow2\n`, 'img.qcow2')).toEqual({ algo: 'sha256', hex: H256 });
    expect(find(`${H256}  images/img.qcow2\n`, 'img.qcow2')).toEqual({ algo: 'sha256', hex: H256 });
    expect(find(`SHA512 (img.qcow2) = ${H512}\nSHA256 (img.qcow2) = ${H256}\n`, 'img.qcow2')).toEqual({ algo: 'sha256', hex: H256 });
    expect(find(`\\${H256}  back\\\\slash.img\n`, 'back\\slash.img')).toEqual({ algo: 'sha256', hex: H256 });
  });

  it('ignores lines it cannot trust: md5/sha1 lengths, a BSD algorithm whose digest has the wrong length, junk', () => {
    const text = [`${'e'.repeat(32)}  md5.img`, `${'e'.repeat(40)}  sha1.img`, `SHA256 (short.img) = ${H512}`, 'hello world', `${H256}`].join('\n');
    const listing = parseChecksumFile(text);
    expect([...listing.byName.keys()]).toEqual([]);
    // Several meaningful lines: a lone digest among them is not taken for the file's digest.
    expect(listing.single).toBeNull();
    expect(find(text, 'short.img')).toBeNull();
  });

  it('inline checksums and digest lengths', () => {
    expect(parseInlineChecksum(`sha256:${H256.toUpperCase()}`)).toEqual({ algo: 'sha256', hex: H256 });
    expect(parseInlineChecksum(`sha512:${H512}`)).toEqual({ algo: 'sha512', hex: H512 });
    expect(parseInlineChecksum(`sha512:${H256}`)).toBeNull();
    expect(parseInlineChecksum(`md5:${'a'.repeat(32)}`)).toBeNull();
    expect(algoForHex(H256)).toBe('sha256');
    expect(algoForHex(H512)).toBe('sha512');
    expect(algoForHex('xyz')).toBeNull();
  });
});
