#!/usr/bin/env bash
# Sets bento up on a fresh Debian/Ubuntu machine (or macOS with Homebrew): system packages, npm
# dependencies (which build the native addon), the bundle, and the test guest. Idempotent: every
# step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1msetup:\033[0m %s\n' "$*" >&2; }

APT_PACKAGES=(qemu-system-x86 qemu-utils busybox-static cpio xz-utils curl tmux util-linux ca-certificates genisoimage openssh-client)
# libvirt hosts: the headers and pkg-config for the addon's libvirt part (so they must be installed
# before `npm ci` builds it), virsh, and libvirtd/virtlogd, which the tests start by hand in private
# namespaces (iproute2 for `ip netns`). On a machine without systemd running, apt never starts a
# system libvirtd: libvirt-daemon-system's scripts start units only when /run/systemd/system exists
# and enable them with `|| true` (its systemd flavour ships no init.d scripts). dbus, which polkitd
# needs, is started through its init script there, unless a policy-rc.d forbids it (containers).
APT_PACKAGES+=(libvirt-daemon-system libvirt-clients libvirt-dev pkg-config iproute2 libxml2-utils)
# The qemu+ssh:// test runs its own sshd (temp config and host key, in a network namespace); the
# system sshd is never used. On a machine without systemd running, apt does not start it either:
# openssh-server's postinst starts its init script through invoke-rc.d, which finds no runlevel
# there (no init: containers) and so does not start it, and a policy-rc.d that forbids starts
# (containers) denies it as well. Where systemd or sysvinit runs, installing the package starts and
# enables the system sshd, as any install of it does. netcat-openbsd: the ssh session's `nc -U` to
# libvirtd's socket (libvirt's remote side of qemu+ssh when the URI names the socket).
APT_PACKAGES+=(openssh-server netcat-openbsd)
# UEFI firmware for images that need it (x86 cloud images boot with SeaBIOS): installed when the
# package archive has it, skipped with a note when it does not.
OPTIONAL_PACKAGES=(ovmf)

if [[ $(uname -s) == Linux ]] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if ((${#missing[@]})); then
    SUDO=()
    [[ $(id -u) == 0 ]] || SUDO=(sudo)
    log "installing ${missing[*]}"
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  for p in "${OPTIONAL_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 && continue
    if apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      SUDO=()
      [[ $(id -u) == 0 ]] || SUDO=(sudo)
      DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$p" >/dev/null
    else
      log "optional package $p is not in the package archive here: UEFI images will not start until it is installed"
    fi
  done
elif [[ $(uname -s) == Darwin ]]; then
  command -v qemu-system-aarch64 >/dev/null || { log "install QEMU first: brew install qemu"; exit 1; }
fi

if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund
elif [[ $(uname -s) == Linux ]] && pkg-config --exists libvirt 2>/dev/null && [[ ! -f native/build/Release/bento_libvirt.node ]]; then
  # node_modules was installed before libvirt's headers were: build the addon again with its libvirt part.
  log "building the native addon with libvirt"
  node scripts/build-native.mjs
fi

log "bundling"
npm run --silent build

if [[ $(uname -s) == Linux ]]; then
  log "test guest"
  bash scripts/build-test-guest.sh >/dev/null
fi
log "ready"
