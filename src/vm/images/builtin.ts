// The official cloud images bento knows by name. Each publisher keeps a checksum file beside its
// images; bento verifies every download against it before keeping anything.
//
// Stable paths where publishers offer them: Debian's `<codename>/latest/` and Ubuntu's
// `releases/<codename>/release/` always hold the newest build of a release under a fixed name (so
// the bytes behind them change, and the checksum file with them). Versioned, to be bumped with each
// release: Fedora (`releases/44/…-44-1.7…`, no stable alias for Cloud images) and Alpine
// (`v3.24/…-3.24.2-…`, its cloud images carry the point release in their names).
import type { CatalogEntry, ImageArch, ImageFirmware, OsFamily } from './types.js';

interface Def {
  id: string;
  title: string;
  os: OsFamily;
  defaultUser: string;
  format: 'qcow2';
  perArch: Record<ImageArch, { url: string; checksumUrl: string }>;
}

const DEBIAN = 'https://cloud.debian.org/images/cloud';
const UBUNTU = 'https://cloud-images.ubuntu.com/releases';
const FEDORA = 'https://download.fedoraproject.org/pub/fedora/linux/releases';
const ALPINE = 'https://dl-cdn.alpinelinux.org/alpine';

function debian(version: number, codename: string): Def {
  const dir = `${DEBIAN}/${codename}/latest`;
  const arch = (a: string) => ({ url: `${dir}/debian-${version}-genericcloud-${a}.qcow2`, checksumUrl: `${dir}/SHA512SUMS` });
  return { id: `debian-${version}`, title: `Debian ${version} (${codename}) genericcloud`, os: 'debian', defaultUser: 'debian', format: 'qcow2', perArch: { x86_64: arch('amd64'), aarch64: arch('arm64') } };
}

const FEDORA_RELEASE = '44';
const FEDORA_COMPOSE = '1.7';
const fedoraArch = (a: ImageArch) => {
  const dir = `${FEDORA}/${FEDORA_RELEASE}/Cloud/${a}/images`;
  return {
    url: `${dir}/Fedora-Cloud-Base-Generic-${FEDORA_RELEASE}-${FEDORA_COMPOSE}.${a}.qcow2`,
    checksumUrl: `${dir}/Fedora-Cloud-${FEDORA_RELEASE}-${FEDORA_COMPOSE}-${a}-CHECKSUM`,
  };
};

const ALPINE_BRANCH = '3.24';
const ALPINE_RELEASE = '3.24.2';
// The "nocloud" images read cloud-init's NoCloud seed; x86_64 comes in bios and uefi builds, aarch64 in uefi only.
const alpineArch = (a: ImageArch, fw: ImageFirmware) => {
  const url = `${ALPINE}/v${ALPINE_BRANCH}/releases/cloud/nocloud_alpine-${ALPINE_RELEASE}-${a}-${fw}-cloudinit-r0.qcow2`;
  return { url, checksumUrl: `${url}.sha512` };
};

const DEFS: Def[] = [
  debian(12, 'bookworm'),
  debian(13, 'trixie'),
  {
    id: 'ubuntu-24.04',
    title: 'Ubuntu 24.04 LTS (noble) server cloudimg',
    os: 'ubuntu',
    defaultUser: 'ubuntu',
    // Ubuntu names it .img, but it is qcow2.
    format: 'qcow2',
    perArch: {
      x86_64: { url: `${UBUNTU}/noble/release/ubuntu-24.04-server-cloudimg-amd64.img`, checksumUrl: `${UBUNTU}/noble/release/SHA256SUMS` },
      aarch64: { url: `${UBUNTU}/noble/release/ubuntu-24.04-server-cloudimg-arm64.img`, checksumUrl: `${UBUNTU}/noble/release/SHA256SUMS` },
    },
  },
  {
    id: `fedora-${FEDORA_RELEASE}`,
    title: `Fedora Cloud ${FEDORA_RELEASE} Base Generic`,
    os: 'fedora',
    defaultUser: 'fedora',
    format: 'qcow2',
    perArch: { x86_64: fedoraArch('x86_64'), aarch64: fedoraArch('aarch64') },
  },
  {
    id: `alpine-${ALPINE_BRANCH}`,
    title: `Alpine ${ALPINE_RELEASE} nocloud (cloud-init)`,
    os: 'alpine',
    defaultUser: 'alpine',
    format: 'qcow2',
    perArch: { x86_64: alpineArch('x86_64', 'bios'), aarch64: alpineArch('aarch64', 'uefi') },
  },
];

/** The firmware an architecture's cloud images boot with. */
export function firmwareFor(arch: ImageArch): ImageFirmware {
  return arch === 'aarch64' ? 'uefi' : 'bios';
}

/** Every built-in entry, one per image and architecture. */
export const BUILTIN_CATALOG: readonly CatalogEntry[] = DEFS.flatMap((d) =>
  (Object.entries(d.perArch) as [ImageArch, { url: string; checksumUrl: string }][]).map(([arch, src]) => ({
    id: d.id,
    title: d.title,
    arch,
    url: src.url,
    checksumUrl: src.checksumUrl,
    format: d.format,
    firmware: firmwareFor(arch),
    defaultUser: d.defaultUser,
    os: d.os,
    origin: 'builtin' as const,
  })),
);
