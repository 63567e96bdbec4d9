#!/usr/bin/env bash
# build-test-image.sh: build (or reuse) the Debian 12 cloud-like disk image
# that bento's image tests boot (bento create NAME --image ...).
#
# Usage: bash scripts/build-test-image.sh        (npm run image)
#   Prints progress on stderr; the LAST LINE OF STDOUT is the image folder.
#   Needs root (or sudo): mmdebstrap, and mke2fs reading a root-owned tree.
#
# Output folder: ${BENTO_TEST_IMAGE_DIR:-$HOME/.cache/bento/test-image}
#   debian-12-bento-test-amd64.qcow2   the image (compressed qcow2)
#   SHA256SUMS, SHA512SUMS             "<hex>  <file name>" (GNU format), as
#                                      image publishers ship them
#   packages.txt                       "<package> <version>" of every package
#   debs/                              the .debs of the last build; a rebuild
#                                      after a recipe change reuses them
#   READY       stamp; line 1 is "bento-test-image recipe=<N>-<hash of this
#               script>", then kernel/cloud-init versions, filesystem UUID,
#               sizes. Any change to this script rebuilds; otherwise a
#               complete folder is reused without touching the network.
# The build runs in a temp folder inside the output folder under an flock on
# <folder>/.lock, and its results are renamed into place (READY last), so
# concurrent runs and interrupted runs are safe. Missing tools are installed
# with apt-get (apt-get update once, then apt-get install -y); grub-pc is
# never installed on the host (only grub-pc-bin: modules and boot.img).
# No loop devices, nothing mounted on the host: mmdebstrap runs in a private
# mount namespace, mke2fs -d writes the filesystem straight into the image
# file at the partition's offset.
#
# ---------------------------------------------------------------------------
# Image contract
# ---------------------------------------------------------------------------
# What it is: a BIOS-booting Debian 12 (bookworm) amd64 disk that boots like
#   Debian's official "genericcloud" image, from its own bootloader:
#   2 GiB virtual size; msdos partition table, partition 1 = ext4 root from
#   1 MiB to the end of the disk; GRUB 2.06 i386-pc boot.img in the MBR and
#   core.img from sector 1 (grub-mkimage's blocklist, no grub-bios-setup);
#   /boot/grub/grub.cfg boots /vmlinuz + /initrd.img, the links Debian keeps
#   on the newest kernel (no grub-pc in the guest, so no update-grub).
# Inside: systemd 252, udev, dbus, libpam-systemd, systemd-networkd +
#   systemd-resolved (+ libnss-myhostname), linux-image-cloud-amd64 (the
#   kernel Debian's cloud images use), initramfs-tools (zstd, MODULES=list:
#   virtio_pci virtio_blk virtio_scsi sd_mod ata_piix ata_generic; NVMe and
#   ext4 are built in), cloud-init 22.4 with cloud-guest-utils (growpart),
#   openssh-server, sudo, python3.11. No docs/man/locales (dpkg path-excludes
#   stay in /etc/dpkg/dpkg.cfg.d, as in minimal images), no apt lists, empty
#   /etc/machine-id, no SSH host keys, no /var/lib/cloud, hostname
#   "localhost", LANG=C.UTF-8, apt sources = the build host's Debian ones.
#   Masked: apt-daily{,-upgrade}.timer dpkg-db-backup.timer e2scrub_all.timer
#   e2scrub_reap.service fstrim.timer.
# cloud-init: Debian's stock /etc/cloud/cloud.cfg, plus
#   cloud.cfg.d/90_dpkg.cfg   datasource_list: [ NoCloud, None ]
#   cloud.cfg.d/10_bento_test_image.cfg
#                             grub_dpkg disabled (no grub-pc to configure),
#                             ssh_genkeytypes [rsa, ecdsa, ed25519] (no DSA)
#   Per instance: user-data users (default user "debian" if none), SSH keys,
#   hostname, growpart + resizefs of / to the disk size, SSH host keys and
#   the host-key block + final message on the console. Network: no ifupdown
#   and no netplan, so cloud-init renders its fallback config (DHCP on the
#   first NIC, matched by MAC) for systemd-networkd (10-cloud-init-<nic>.network).
#   Debian 12's official images reach the same networkd + resolved state
#   through netplan; resolv.conf -> systemd-resolved's stub.
#   Tip for tests: user-data "ssh_genkeytypes: [ed25519]" skips the RSA and
#   ECDSA host keys (RSA 3072 key generation is seconds under TCG).
# Kernel command line (grub.cfg: timeout 0, no menu shown):
#   BOOT_IMAGE=/vmlinuz root=UUID=<fs uuid> ro console=tty0 console=ttyS0,115200n8
#   ttyS0 is last, so /dev/console is the serial port: GRUB's "Loading Linux
#   ..." / "Loading initial ramdisk ...", the kernel log, systemd's status
#   lines, cloud-init's output and a serial getty ("<hostname> login:") are
#   all on it. Serial lines end in \r\n (systemd status lines in \r\r\n).
# Serial markers (first boot of an instance; keys-to-console writes the block
# straight to the console, the final message comes through journald):
#   -----BEGIN SSH HOST KEY KEYS-----
#   ecdsa-sha2-nistp256 AAAA... root@<hostname>
#   ssh-ed25519 AAAA... root@<hostname>
#   ssh-rsa AAAA... root@<hostname>
#   -----END SSH HOST KEY KEYS-----
#   [   64.982527] cloud-init[413]: Cloud-init v. 22.4.2 finished at <date>.
#     Datasource DataSourceNoCloud [seed=/dev/sr0][dsmode=net].  Up 64.89 seconds
#   (one line). Later boots print no host-key block, only the final message.
# THE CLOUD KERNEL HAS NO AHCI DRIVER (nor has Debian's genericcloud image):
#   on -machine q35 an ide-cd sits on the ICH9 AHCI controller, the guest
#   never sees the seed, and cloud-init falls back to DataSourceNone (no
#   user, no keys). Attach the seed over virtio, or use -machine pc (PIIX
#   IDE, which the kernel drives):
#     -drive file=seed.iso,format=raw,if=none,id=cd0,media=cdrom,readonly=on
#     -device virtio-scsi-pci,id=scsi0 -device scsi-cd,drive=cd0,bus=scsi0.0
#   or: -drive file=seed.iso,format=raw,if=none,id=cd0,readonly=on
#       -device virtio-blk-pci,drive=cd0
# Boot (never -kernel; SeaBIOS -> GRUB from the disk):
#   qemu-img create -f qcow2 -b $DIR/debian-12-bento-test-amd64.qcow2 \
#     -F qcow2 overlay.qcow2 4G
#   genisoimage -output seed.iso -volid cidata -joliet -rock user-data meta-data
#   qemu-system-x86_64 -accel tcg -machine q35 -m 1024 -smp 2 -nodefaults \
#     -display none \
#     -drive file=overlay.qcow2,format=qcow2,if=none,id=d0 \
#     -device virtio-blk-pci,drive=d0,bootindex=0 \
#     <the seed, see above> \
#     -netdev user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:PORT-:22 \
#     -device virtio-net-pci,netdev=n0,romfile= \
#     -serial file:serial.log
#   The root filesystem grows to the overlay's size on first boot.
# Timings (bench/test-image-boot.sh: that command line, virtio-scsi seed;
# qemu 7.2 TCG, 2 host cores; seconds from qemu start; host load average
# 1.5 (at load 3 add ~5 s; a busy host, load 7-8, doubles everything)):
#                  grub  kernel  ssh works  login:  host keys  final msg
#   first boot      0.4     4.5       47.6    49.5       54.4       54.4
#   second boot     0.4     3.8       40.3    42.2          -       45.6
#   user-data "ssh_genkeytypes: [ed25519]" saves ~5 s of the first boot.
#   cloud-init's four Python stages are most of it (importing cloud-init
#   alone takes several seconds per stage under TCG); first boot adds RSA
#   key generation and growpart. systemd-analyze blame, first boot:
#   cloud-init 13.6, cloud-init-local 11.8, cloud-config 7.1, cloud-final
#   5.5, dev-vda1.device 5.1, systemd-resolved 3.7, ssh 1.9,
#   systemd-networkd-wait-online 1.8 (kernel 5.1 + userspace 45.6).
# Build (same host): 75 s from nothing (111 MB downloaded: apt lists and
#   ~100 MB of .debs), 70 s after a recipe change with debs/ filled (9 MB:
#   apt lists), instant when READY matches. Most of it is dpkg inside
#   mmdebstrap (~50 s) and the compressed qcow2 conversion (~13 s).
#   Image: 135 MiB file, 2 GiB virtual, 208 packages, 400 MB root tree.
# ---------------------------------------------------------------------------
set -euo pipefail

# Bump when the output format changes in a way the hash below would not show.
RECIPE_VERSION=1

SELF="${BASH_SOURCE[0]}"
IMAGE_DIR="${BENTO_TEST_IMAGE_DIR:-${HOME:?set HOME or BENTO_TEST_IMAGE_DIR}/.cache/bento/test-image}"
RECIPE_ID="${RECIPE_VERSION}-$(sha256sum "$SELF" | cut -c1-16)"
STAMP_LINE="bento-test-image recipe=${RECIPE_ID}"
IMAGE_NAME=debian-12-bento-test-amd64.qcow2
SUITE=bookworm
DISK_SIZE_MIB=2048
PART_START=2048 # sectors: partition 1 starts at 1 MiB; GRUB's core.img fits before it
GRUB_DIR=/usr/lib/grub/i386-pc
PACKAGES=(
  systemd-sysv udev dbus libpam-systemd
  linux-image-cloud-amd64 initramfs-tools zstd
  cloud-init cloud-guest-utils fdisk e2fsprogs
  openssh-server sudo
  iproute2 netbase systemd-resolved libnss-myhostname
)
# cloud-init renders its fallback network config for systemd-networkd.
ENABLE_UNITS=(systemd-networkd.service)
# Units that only cost time (or write to the disk) in a short-lived test VM.
MASK_UNITS=(
  apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer
  e2scrub_all.timer e2scrub_reap.service fstrim.timer
)

log() { echo "build-test-image: $*" >&2; }
die() { log "error: $*"; exit 1; }

is_ready() {
  [[ -s $IMAGE_DIR/$IMAGE_NAME && -s $IMAGE_DIR/SHA256SUMS && -s $IMAGE_DIR/SHA512SUMS &&
    -f $IMAGE_DIR/READY ]] &&
    [[ "$(head -n1 "$IMAGE_DIR/READY")" == "$STAMP_LINE" ]]
}

if is_ready; then
  echo "$IMAGE_DIR"
  exit 0
fi

SUDO=()
if [[ $EUID -ne 0 ]]; then
  command -v sudo >/dev/null || die "run as root, or install sudo"
  SUDO=(sudo)
fi

APT_UPDATED=
apt_update_once() {
  if [[ -z $APT_UPDATED ]]; then
    log "apt-get update"
    "${SUDO[@]}" apt-get update >&2
    APT_UPDATED=1
  fi
}

# apt_install PACKAGE...: apt-get install, with one apt-get update first.
apt_install() {
  apt_update_once
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y --no-install-recommends "$@" >&2
}

# need CMD PACKAGE...: install PACKAGE(s) when CMD is missing.
need() {
  local cmd=$1; shift
  command -v "$cmd" >/dev/null && return 0
  apt_install "$@"
  command -v "$cmd" >/dev/null || die "$cmd still missing after installing $*"
}

# need_file PATH PACKAGE...: install PACKAGE(s) when PATH is missing.
need_file() {
  local file=$1; shift
  [[ -e $file ]] && return 0
  apt_install "$@"
  [[ -e $file ]] || die "$file still missing after installing $*"
}

need flock util-linux
need unshare util-linux
need sha256sum coreutils
need mmdebstrap mmdebstrap
need mke2fs e2fsprogs
need sfdisk fdisk
need qemu-img qemu-utils
need grub-mkimage grub-common
# Not used here: what tests need to make a NoCloud seed for this image.
need genisoimage genisoimage
# grub-pc-bin only ships the i386-pc modules and images; grub-pc (which would
# install GRUB onto the host's disk) is never pulled in.
need_file "$GRUB_DIR/boot.img" grub-pc-bin

mkdir -p "$IMAGE_DIR"
exec 9>"$IMAGE_DIR/.lock"
log "waiting for lock $IMAGE_DIR/.lock"
flock -w 1800 9 || die "could not lock $IMAGE_DIR/.lock"
if is_ready; then # another run finished it while we waited
  echo "$IMAGE_DIR"
  exit 0
fi

# Leftovers of interrupted runs (we hold the lock, so nobody else is building).
for d in "$IMAGE_DIR"/.build.*; do
  [[ -e $d ]] && "${SUDO[@]}" rm -rf --one-file-system "$d"
done
BUILD=$(mktemp -d "$IMAGE_DIR/.build.XXXXXX")
trap '"${SUDO[@]}" rm -rf --one-file-system "$BUILD"' EXIT
START=$SECONDS
log "building in $BUILD"

ROOT="$BUILD/root"
FS_UUID=$(cat /proc/sys/kernel/random/uuid)

# apt sources: the host's own Debian entries (same mirror, snapshot and
# keyring that apt on this machine uses); they also end up in the image.
SOURCES=
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  [[ -s $f ]] && SOURCES=$f && break
done
[[ -n $SOURCES ]] || die "no Debian apt sources on this host (/etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list)"

# ---- root filesystem tree ---------------------------------------------------
# Written into the tree before the packages are installed (essential hook), so
# the one initramfs that the kernel's postinst builds is already the final one.
cat >"$BUILD/initramfs.conf" <<'EOF'
# bento test image: only the drivers a QEMU root disk needs (listed in
# /usr/share/initramfs-tools/modules.d/bento-test-image, not in the conffile
# /etc/initramfs-tools/modules, which dpkg would ask about): a 4x smaller
# initramfs that GRUB reads and the kernel unpacks faster under TCG. Set
# MODULES=most for other hardware.
MODULES=list
COMPRESS=zstd
EOF
cat >"$BUILD/initramfs.modules" <<'EOF'
# bento test image: root disk drivers (MODULES=list in conf.d/bento.conf).
# virtio-blk, virtio-scsi, IDE/SATA on PIIX (-machine pc); NVMe is built in.
virtio_pci
virtio_blk
virtio_scsi
sd_mod
ata_piix
ata_generic
EOF
cat >"$BUILD/essential-hook" <<EOF
#!/bin/sh
set -e
mkdir -p "\$1/etc/initramfs-tools/conf.d" "\$1/usr/share/initramfs-tools/modules.d"
cp '$BUILD/initramfs.conf' "\$1/etc/initramfs-tools/conf.d/bento.conf"
cp '$BUILD/initramfs.modules' "\$1/usr/share/initramfs-tools/modules.d/bento-test-image"
EOF
chmod +x "$BUILD/essential-hook"

log "mmdebstrap $SUITE (${#PACKAGES[@]} packages + dependencies)"
DEB_CACHE="$IMAGE_DIR/debs"
# A private mount namespace: mmdebstrap's /proc, /sys, /dev mounts inside the
# tree never show up on the host and vanish with the process. Hooks must not
# touch the tree's /tmp: mmdebstrap keeps its apt.conf there, and without it
# its final "apt-get update/clean" would run against the HOST's apt state.
# The .debs stay in the tree (essential/unlink and cleanup/apt/cache are
# skipped) and are moved to the cache below.
"${SUDO[@]}" unshare --mount --propagation private \
  mmdebstrap --mode=root --variant=minbase --format=directory \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --skip=essential/unlink --skip=cleanup/apt/cache \
  --setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
  --setup-hook="if [ -d '$DEB_CACHE' ]; then cp -l '$DEB_CACHE'/*.deb \"\$1/var/cache/apt/archives/\" 2>/dev/null || true; fi" \
  --essential-hook="$BUILD/essential-hook" \
  --customize-hook="chroot \"\$1\" systemctl enable --quiet ${ENABLE_UNITS[*]}" \
  --customize-hook="chroot \"\$1\" systemctl mask --quiet ${MASK_UNITS[*]}" \
  "$SUITE" "$ROOT" "$SOURCES" >&2
log "mmdebstrap done at $((SECONDS - START)) s"

# From here on: plain file edits in the tree (root's files, hence as_root).
# Every path goes through in_root, which refuses anything outside $ROOT.
[[ -d $ROOT/etc && -x $ROOT/usr/bin/dpkg ]] || die "mmdebstrap left no tree in $ROOT"
as_root() { "${SUDO[@]}" "$@"; }
in_root() { # in_root REL: the absolute path of REL inside the tree
  [[ -n $1 && $1 != /* && $1 != *..* && ${#ROOT} -gt 1 ]] || die "bad tree path '$1'"
  echo "$ROOT/$1"
}
put() { as_root tee "$(in_root "$1")" >/dev/null; } # put REL <content

mkdir -p "$BUILD/debs"
as_root find "$(in_root var/cache/apt/archives)" -maxdepth 1 -name '*.deb' -exec cp -l -t "$BUILD/debs" {} +
as_root find "$(in_root var/cache/apt)" -type f -delete
[[ -n $(ls "$BUILD/debs") ]] || die "no .debs left in the tree to cache"

# Per-instance state a cloud image must not carry: machine-id (empty, so
# systemd makes one on first boot), SSH host keys (cloud-init makes them),
# the random seed. Host files mmdebstrap copied in: hostname, resolv.conf.
as_root truncate -s 0 "$(in_root etc/machine-id)"
as_root find "$(in_root etc/ssh)" -maxdepth 1 -name 'ssh_host_*' -delete
as_root rm -f "$(in_root var/lib/dbus/machine-id)" "$(in_root var/lib/systemd/random-seed)"
as_root find "$(in_root var/cache/debconf)" -maxdepth 1 -name '*-old' -delete
as_root find "$(in_root var/log)" -type f -name '*.log' -delete
echo localhost | put etc/hostname
as_root ln -sfn ../run/systemd/resolve/stub-resolv.conf "$(in_root etc/resolv.conf)"
if [[ -e $ROOT/etc/apt/sources.list.d/0000${SOURCES##*/} ]]; then
  as_root mv "$(in_root "etc/apt/sources.list.d/0000${SOURCES##*/}")" "$(in_root "etc/apt/sources.list.d/${SOURCES##*/}")"
fi
# C.UTF-8 (always there): cloud-init's locale module would otherwise try to
# generate en_US.UTF-8.
echo LANG=C.UTF-8 | put etc/default/locale

put etc/fstab <<EOF
# <file system> <mount point> <type> <options> <dump> <pass>
UUID=$FS_UUID / ext4 rw,discard,errors=remount-ro 0 1
EOF

put etc/cloud/cloud.cfg.d/90_dpkg.cfg <<'EOF'
# to update this file, run dpkg-reconfigure cloud-init
datasource_list: [ NoCloud, None ]
EOF
put etc/cloud/cloud.cfg.d/10_bento_test_image.cfg <<'EOF'
# bento test image (scripts/build-test-image.sh); user-data overrides these.
# No grub-pc in this image (GRUB was installed from outside), so there is
# nothing for grub-dpkg to configure.
grub_dpkg:
  enabled: false
# OpenSSH 9 does not load DSA host keys; do not spend boot time making one.
ssh_genkeytypes: [rsa, ecdsa, ed25519]
EOF

as_root mkdir -p "$(in_root boot/grub)"
put boot/grub/grub.cfg <<EOF
# bento test image: written by scripts/build-test-image.sh (no grub-mkconfig
# in the guest). /vmlinuz and /initrd.img always point at the newest kernel.
# No timeout_style=hidden: its key poll costs about 3 s under TCG.
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set default=0
set timeout=0
menuentry 'Debian GNU/Linux 12 (bookworm)' {
	echo 'Loading Linux ...'
	linux /vmlinuz root=UUID=$FS_UUID ro console=tty0 console=ttyS0,115200n8
	echo 'Loading initial ramdisk ...'
	initrd /initrd.img
}
EOF

KVER=$(readlink "$ROOT/vmlinuz"); KVER=${KVER##*/vmlinuz-}
[[ -n $KVER && -s $ROOT/boot/vmlinuz-$KVER && -s $ROOT/boot/initrd.img-$KVER ]] ||
  die "no kernel/initramfs behind /vmlinuz in the tree"
dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Package} ${Version}\n' >"$BUILD/packages.txt"
pkgver() { awk -v p="$1" '$1 == p { print $2 }' "$BUILD/packages.txt"; }

# ---- disk: partition table, ext4 at 1 MiB, GRUB -----------------------------
RAW="$BUILD/disk.raw"
truncate -s "${DISK_SIZE_MIB}M" "$RAW"
printf 'label: dos\nstart=%d, type=83, bootable\n' "$PART_START" | sfdisk --quiet "$RAW" >&2
PART_SECTORS=$(sfdisk --dump "$RAW" | awk -F'size=' '/^[^:]*1 :/ { split($2, a, ","); print a[1] + 0 }')
[[ $PART_SECTORS -gt 0 ]] || die "sfdisk made no partition 1"

log "mke2fs (root tree $("${SUDO[@]}" du -sh --one-file-system "$ROOT" | cut -f1))"
# The guest's own mke2fs.conf: the features its e2fsprogs (and GRUB) expect.
# Inode tables and journal are zeroed now (sparse in the file, free in the
# qcow2) instead of by ext4lazyinit in every booted VM.
"${SUDO[@]}" env MKE2FS_CONFIG="$ROOT/etc/mke2fs.conf" \
  mke2fs -q -F -t ext4 -U "$FS_UUID" -d "$ROOT" \
  -E "offset=$((PART_START * 512)),lazy_itable_init=0,lazy_journal_init=0,nodiscard" \
  "$RAW" "$((PART_SECTORS / 2))k" >&2
log "mke2fs done at $((SECONDS - START)) s"
[[ $(stat -c %s "$RAW") -eq $((DISK_SIZE_MIB * 1024 * 1024)) ]] || die "mke2fs changed the disk size"
"${SUDO[@]}" chown "$(id -u):$(id -g)" "$RAW"

# core.img: GRUB's kernel plus what it needs to find and read grub.cfg. Its
# first sector (diskboot.img) carries a blocklist that grub-mkimage fills in
# with the image's length and that starts at sector 2 by default, which is
# exactly where the rest lands when core.img is written from sector 1; and
# boot.img loads sector 1 by default. So no grub-bios-setup is needed.
cat >"$BUILD/early.cfg" <<EOF
search --no-floppy --fs-uuid --set=root --hint=hd0,msdos1 $FS_UUID
set prefix=(\$root)/boot/grub
EOF
grub-mkimage -O i386-pc -d "$GRUB_DIR" -o "$BUILD/core.img" -c "$BUILD/early.cfg" \
  -p '(hd0,msdos1)/boot/grub' \
  biosdisk part_msdos ext2 search search_fs_uuid normal linux boot echo test \
  serial terminal configfile
CORE_SECTORS=$(( ($(stat -c %s "$BUILD/core.img") + 511) / 512 ))
[[ $CORE_SECTORS -lt $((PART_START - 1)) ]] || die "core.img ($CORE_SECTORS sectors) does not fit before the partition"
# Check the assumptions above: boot.img's kernel_sector (offset 0x5c) is 1,
# the blocklist at the end of core.img's first sector starts at 2, and its
# length covers the rest of core.img.
u64() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }
u16() { od -An -t u2 -j "$2" -N 2 "$1" | tr -d ' '; }
[[ $(u64 "$GRUB_DIR/boot.img" $((0x5c))) == 1 ]] || die "boot.img does not load sector 1"
[[ $(u64 "$BUILD/core.img" $((512 - 12))) == 2 ]] || die "core.img blocklist does not start at sector 2"
[[ $(u16 "$BUILD/core.img" $((512 - 4))) == $((CORE_SECTORS - 1)) ]] ||
  die "core.img blocklist length is not its size ($((CORE_SECTORS - 1)) sectors)"
dd if="$GRUB_DIR/boot.img" of="$RAW" bs=440 count=1 conv=notrunc status=none
dd if="$BUILD/core.img" of="$RAW" bs=512 seek=1 conv=notrunc status=none

log "qemu-img convert -c (compressed qcow2)"
qemu-img convert -c -O qcow2 "$RAW" "$BUILD/$IMAGE_NAME"
rm -f "$RAW"
log "qemu-img convert done at $((SECONDS - START)) s"
(cd "$BUILD" && sha256sum "$IMAGE_NAME" >SHA256SUMS && sha512sum "$IMAGE_NAME" >SHA512SUMS)

{
  echo "$STAMP_LINE"
  echo "image=$IMAGE_NAME virtual=${DISK_SIZE_MIB}MiB file=$(stat -c %s "$BUILD/$IMAGE_NAME")"
  echo "kernel=linux-image-$KVER $(pkgver "linux-image-$KVER")"
  echo "cloud-init=$(pkgver cloud-init) systemd=$(pkgver systemd) openssh-server=$(pkgver openssh-server)"
  echo "root=UUID=$FS_UUID"
  echo "packages=$(wc -l <"$BUILD/packages.txt")"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$BUILD/READY"

# Install: READY goes first out and last in, each file by rename.
rm -f "$IMAGE_DIR/READY"
mv -f "$BUILD/$IMAGE_NAME" "$IMAGE_DIR/$IMAGE_NAME"
mv -f "$BUILD/SHA256SUMS" "$IMAGE_DIR/SHA256SUMS"
mv -f "$BUILD/SHA512SUMS" "$IMAGE_DIR/SHA512SUMS"
mv -f "$BUILD/packages.txt" "$IMAGE_DIR/packages.txt"
rm -rf "$IMAGE_DIR/debs.old"
[[ ! -d $IMAGE_DIR/debs ]] || mv "$IMAGE_DIR/debs" "$IMAGE_DIR/debs.old"
mv "$BUILD/debs" "$IMAGE_DIR/debs"
rm -rf "$IMAGE_DIR/debs.old"
mv -f "$BUILD/READY" "$IMAGE_DIR/READY"
log "built in $((SECONDS - START)) s: $IMAGE_NAME $(du -m "$IMAGE_DIR/$IMAGE_NAME" | cut -f1) MiB, kernel $KVER"
echo "$IMAGE_DIR"
