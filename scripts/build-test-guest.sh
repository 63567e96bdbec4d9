#!/usr/bin/env bash
# build-test-guest.sh: build (or reuse) the small Linux guest that bento's
# integration and e2e tests boot under QEMU.
#
# Usage: bash scripts/build-test-guest.sh        (npm run guest)
#   Prints progress on stderr; the LAST LINE OF STDOUT is the guest folder.
#
# Output folder: ${BENTO_GUEST_DIR:-$HOME/.cache/bento/test-guest}
#   vmlinuz     Debian's stock amd64 kernel (package linux-image-<abi>-amd64)
#   initrd.img  gzip'd newc cpio: busybox-static, the virtio/button/evdev
#               modules (uncompressed .ko) and /init (a busybox sh script)
#   READY       stamp; line 1 is "bento-test-guest recipe=<N>-<hash of this
#               script>", then kernel/busybox versions. Any change to this
#               script rebuilds; otherwise a complete folder is reused
#               without touching the network.
# The build runs in a temp folder inside the output folder under an flock on
# <folder>/.lock, and its results are renamed into place (READY last), so
# concurrent runs and interrupted runs are safe. Missing tools are installed
# with apt-get (apt-get update once, then apt-get install -y).
#
# ---------------------------------------------------------------------------
# Guest contract (also in test/fixtures/GUEST.md; keep the two in sync)
# ---------------------------------------------------------------------------
# Boot (about 5.5-6 s from QEMU start to the READY marker under TCG):
#   qemu-system-x86_64 -accel tcg -nodefaults -display none [-m 256] \
#     -kernel $DIR/vmlinuz -initrd $DIR/initrd.img \
#     -append "console=ttyS0 [bento.acpi=poweroff|ignore] [bento.console=hvc0]" \
#     -chardev socket,id=s0,path=...,server=on,wait=off[,logfile=...] \
#     -serial chardev:s0 [-qmp unix:...,server=on,wait=off]
#   console=ttyS0 is required (kernel log + the first shell live there).
#   QEMU's default -m (128M) is enough; -M pc (default) and -M q35 both work.
# Kernel command line flags read by /init:
#   bento.acpi=poweroff (default) the ACPI power button (QMP system_powerdown)
#                       prints BENTO-GUEST-POWEROFF, syncs, and runs
#                       poweroff -f: QEMU exits by itself, status 0.
#   bento.acpi=ignore   the power button is ignored completely; guest stays up.
#   bento.console=hvc0  ALSO run a shell on /dev/hvc0 (needs
#                       -device virtio-serial-pci -device virtconsole,chardev=..);
#                       ttyS0 keeps its shell. If /dev/hvc0 does not appear
#                       within 5 s, "bento-init: ..." is printed on ttyS0.
#   loglevel=N / debug / ignore_loglevel: keep the kernel's console log level;
#                       otherwise /init runs `dmesg -n 1` once it starts, so
#                       later kernel messages do not interleave with the shell.
# Markers, each on a line of its own (an empty line is printed before it),
# on every console that has a shell; serial lines end in \r\n:
#   BENTO-GUEST-READY     the root shell on that console is up, job control on,
#                         power-button listener armed; printed again whenever
#                         that shell exits and is respawned
#   BENTO-GUEST-POWEROFF  the power button was pressed (bento.acpi=poweroff);
#                         QEMU exits a few ms later
# Shell: busybox ash as root, prompt "# ", on a console that is its
#   controlling tty: Ctrl-C (\x03) interrupts a foreground `sleep 100`, job
#   control works. The tty echoes input. ash's line editing writes ESC[6n
#   (cursor position query) after each prompt: a terminal emulator answers
#   it, a raw reader just sees the 4 bytes. It assumes 80 columns, so a typed
#   line over ~78 characters is echoed with a "\r\r\n" wrap (the command runs
#   normally). `exit` gets a fresh shell (and a new READY). /init (sh) sets
#   things up, then execs busybox init as PID 1, which respawns the shells.
#   PATH=/bin:/sbin:/usr/bin:/usr/sbin, HOME=/root, hostname bento-guest.
# Devices: proc, sysfs, devtmpfs, devpts mounted; these modules are loaded in
#   dependency order with insmod (unless built in): virtio_ring virtio
#   virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
#   virtio_console failover net_failover virtio_net button evdev, and for
#   snapshots and shared folders: ext4 (with jbd2 mbcache crc16
#   crc32c_generic; busybox mke2fs makes a filesystem it mounts), 9p
#   9pnet_virtio (mount -t 9p -o trans=virtio,version=9p2000.L TAG DIR),
#   fuse virtiofs (mount -t virtiofs TAG DIR), and virtio_balloon (reports
#   the guest's memory to QEMU's balloon guest-stats when polled).
#   -drive file=disk.qcow2,format=qcow2,if=none,id=d0
#   -device virtio-blk-pci,drive=d0    -> /dev/vda: raw, dd to/from it; sync
#                                         (or dd conv=fsync) makes writes
#                                         reach the image; the power-button
#                                         path syncs too.
#   -netdev user,id=n0 -device virtio-net-pci,netdev=n0 -> eth0 exists (down,
#                                         no address). lo is up.
#   Nothing else: no network config, no filesystems on disks, no mdev/udev.
# ---------------------------------------------------------------------------
set -euo pipefail

# Bump when the output format changes in a way the hash below would not show.
RECIPE_VERSION=1

SELF="${BASH_SOURCE[0]}"
GUEST_DIR="${BENTO_GUEST_DIR:-${HOME:?set HOME or BENTO_GUEST_DIR}/.cache/bento/test-guest}"
RECIPE_ID="${RECIPE_VERSION}-$(sha256sum "$SELF" | cut -c1-16)"
STAMP_LINE="bento-test-guest recipe=${RECIPE_ID}"
# Modules wanted in the guest; their dependencies are added automatically.
WANTED_MODULES=(virtio virtio_ring virtio_pci virtio_blk virtio_console virtio_net button evdev crc32c_generic ext4 9p 9pnet_virtio fuse virtiofs virtio_balloon)

log() { echo "build-test-guest: $*" >&2; }
die() { log "error: $*"; exit 1; }

is_ready() {
  [[ -s $GUEST_DIR/vmlinuz && -s $GUEST_DIR/initrd.img && -f $GUEST_DIR/READY ]] &&
    [[ "$(head -n1 "$GUEST_DIR/READY")" == "$STAMP_LINE" ]]
}

if is_ready; then
  echo "$GUEST_DIR"
  exit 0
fi

SUDO=()
if [[ $EUID -ne 0 ]] && command -v sudo >/dev/null; then SUDO=(sudo); fi
APT_DL_OPTS=()
# apt-get download as root warns when _apt cannot write the folder; stay root.
if [[ $EUID -eq 0 ]]; then APT_DL_OPTS=(-o APT::Sandbox::User=root); fi

APT_UPDATED=
apt_update_once() {
  if [[ -z $APT_UPDATED ]]; then
    log "apt-get update"
    "${SUDO[@]}" apt-get update >&2
    APT_UPDATED=1
  fi
}

# need CMD PACKAGE...: install PACKAGE(s) with apt-get when CMD is missing.
need() {
  local cmd=$1; shift
  command -v "$cmd" >/dev/null && return 0
  apt_update_once
  log "installing $* (for $cmd)"
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y --no-install-recommends "$@" >&2
  command -v "$cmd" >/dev/null || die "$cmd still missing after installing $*"
}

need apt-get apt
need dpkg-deb dpkg
need cpio cpio
need gzip gzip
need flock util-linux
need sha256sum coreutils

mkdir -p "$GUEST_DIR"
exec 9>"$GUEST_DIR/.lock"
log "waiting for lock $GUEST_DIR/.lock"
flock -w 1800 9 || die "could not lock $GUEST_DIR/.lock"
if is_ready; then # another run finished it while we waited
  echo "$GUEST_DIR"
  exit 0
fi

# Leftovers of interrupted runs (we hold the lock, so nobody else is building).
rm -rf "$GUEST_DIR"/.build.*
BUILD=$(mktemp -d "$GUEST_DIR/.build.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT
START=$SECONDS
log "building in $BUILD"

# ---- kernel ---------------------------------------------------------------
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}
KPKG=$(kernel_pkg || true)
if [[ -z $KPKG ]]; then
  apt_update_once
  KPKG=$(kernel_pkg || true)
fi
[[ -n $KPKG ]] || die "cannot resolve linux-image-amd64 to a versioned kernel package"

# apt_download DIR PKG: fetch PKG's .deb into DIR (apt-get update once on failure).
apt_download() {
  local dir=$1 pkg=$2
  mkdir -p "$dir"
  if ! (cd "$dir" && apt-get download "${APT_DL_OPTS[@]}" "$pkg" >&2); then
    [[ -z $APT_UPDATED ]] || die "apt-get download $pkg failed"
    apt_update_once
    (cd "$dir" && apt-get download "${APT_DL_OPTS[@]}" "$pkg" >&2) || die "apt-get download $pkg failed"
  fi
  compgen -G "$dir/*.deb" >/dev/null || die "no .deb for $pkg in $dir"
}

log "downloading $KPKG"
apt_download "$BUILD/dl-kernel" "$KPKG"
KDEB=$(echo "$BUILD"/dl-kernel/*.deb)
KVER_PKG=$(dpkg-deb -f "$KDEB" Version)
dpkg-deb -x "$KDEB" "$BUILD/kernel"
rm -f "$KDEB"

VMLINUZ=$(compgen -G "$BUILD/kernel/boot/vmlinuz-*" | head -n1 || true)
[[ -n $VMLINUZ ]] || die "no /boot/vmlinuz-* in $KPKG"
KREL=${VMLINUZ##*/vmlinuz-}
MODDIR=
for d in "$BUILD/kernel/lib/modules/$KREL" "$BUILD/kernel/usr/lib/modules/$KREL"; do
  [[ -d $d ]] && MODDIR=$d && break
done
[[ -n $MODDIR ]] || die "no modules folder for $KREL in $KPKG"

# ---- busybox ---------------------------------------------------------------
BUSYBOX=
BB_VERSION=
if dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' &&
  [[ -x /bin/busybox ]]; then
  BUSYBOX=/bin/busybox
  BB_VERSION=$(dpkg-query -W -f='${Version}' busybox-static)
else
  log "downloading busybox-static"
  apt_download "$BUILD/dl-busybox" busybox-static
  BBDEB=$(echo "$BUILD"/dl-busybox/*.deb)
  BB_VERSION=$(dpkg-deb -f "$BBDEB" Version)
  dpkg-deb -x "$BBDEB" "$BUILD/busybox"
  for c in "$BUILD/busybox/bin/busybox" "$BUILD/busybox/usr/bin/busybox"; do
    [[ -x $c ]] && BUSYBOX=$c && break
  done
fi
[[ -n $BUSYBOX ]] || die "busybox-static has no busybox binary"

# ---- initramfs tree ----------------------------------------------------------
ROOT="$BUILD/root"
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc/bento,lib/modules}
chmod 1777 "$ROOT/tmp"
cp "$BUSYBOX" "$ROOT/bin/busybox"
chmod 0755 "$ROOT/bin/busybox"
while read -r applet; do
  [[ -n $applet && $applet != bin/busybox ]] || continue
  [[ -e $ROOT/$applet ]] || ln -s /bin/busybox "$ROOT/$applet"
done < <("$BUSYBOX" --list-full)
for a in sh init insmod dd poweroff mount sync dmesg usleep; do
  [[ -e $ROOT/bin/$a || -e $ROOT/sbin/$a || -e $ROOT/usr/bin/$a || -e $ROOT/usr/sbin/$a ]] ||
    die "busybox lacks applet $a"
done
# The kernel's built-in initramfs already has /dev/console; add it when we can.
mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || true

# Modules: index the .ko files, then add WANTED_MODULES and their
# dependencies (from each module's modinfo "depends=") in load order.
declare -A KO=() BUILTIN=() SEEN=()
while IFS= read -r -d '' f; do
  b=${f##*/}
  b=${b%%.ko*}
  KO[${b//-/_}]=$f
done < <(find "$MODDIR" -name '*.ko*' -print0)
if [[ -f $MODDIR/modules.builtin ]]; then
  while read -r f; do
    b=${f##*/}
    b=${b%%.ko*}
    BUILTIN[${b//-/_}]=1
  done <"$MODDIR/modules.builtin"
fi

ORDER=()
add_module() {
  local m=${1//-/_} src dst deps d
  [[ -z ${SEEN[$m]:-} ]] || return 0
  SEEN[$m]=1
  if [[ -n ${BUILTIN[$m]:-} ]]; then
    log "module $m: built in"
    return 0
  fi
  src=${KO[$m]:-}
  [[ -n $src ]] || die "module $m is neither built into $KREL nor shipped as a .ko"
  dst="$ROOT/lib/modules/$m.ko"
  case $src in
    *.ko) cp "$src" "$dst" ;;
    *.ko.xz) need xz xz-utils && xz -dc "$src" >"$dst" ;;
    *.ko.zst) need zstd zstd && zstd -qdc "$src" >"$dst" ;;
    *.ko.gz) gzip -dc "$src" >"$dst" ;;
    *) die "unknown module format: $src" ;;
  esac
  deps=$(tr '\0' '\n' <"$dst" | sed -n 's/^depends=//p')
  deps=${deps%%$'\n'*}
  for d in ${deps//,/ }; do add_module "$d"; done
  ORDER+=("$m")
}
for m in "${WANTED_MODULES[@]}"; do add_module "$m"; done
printf '%s\n' "${ORDER[@]}" >"$ROOT/etc/bento/modules"
log "modules (load order): ${ORDER[*]}"

# Console shell started by busybox init (see /etc/inittab written by /init).
cat >"$ROOT/etc/bento/shell" <<'EOF'
#!/bin/sh
export HOME=/root ENV=/etc/bento/profile
cd /root 2>/dev/null || cd /
exec sh -i
EOF
chmod 0755 "$ROOT/etc/bento/shell"

# Sourced by each interactive console shell (ENV): job control is on by then.
cat >"$ROOT/etc/bento/profile" <<'EOF'
unset ENV
PS1='# '
printf '\nBENTO-GUEST-READY\n'
EOF

cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# bento test guest /init; the contract is in scripts/build-test-guest.sh.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=linux
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
[ -t 1 ] || exec </dev/console >/dev/console 2>&1
hostname bento-guest

cmdline=$(cat /proc/cmdline)
acpi=poweroff
console2=
set -f
for arg in $cmdline; do
  case $arg in
    bento.acpi=*) acpi=${arg#*=} ;;
    bento.console=*) console2=${arg#*=} ;;
  esac
done
set +f
case " $cmdline " in
  *" loglevel="* | *" debug "* | *" ignore_loglevel "*) ;;
  *) dmesg -n 1 ;;
esac

while read -r m; do
  insmod "/lib/modules/$m.ko" || echo "bento-init: insmod $m failed"
done </etc/bento/modules
ip link set lo up 2>/dev/null

consoles=/dev/ttyS0
if [ "$console2" = hvc0 ]; then
  i=0
  while [ ! -c /dev/hvc0 ] && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
  if [ -c /dev/hvc0 ]; then
    consoles="/dev/ttyS0 /dev/hvc0"
  else
    echo "bento-init: bento.console=hvc0 but /dev/hvc0 did not appear"
  fi
elif [ -n "$console2" ]; then
  echo "bento-init: unknown bento.console=$console2 (only hvc0)"
fi

power_off() {
  for c in $consoles; do printf '\nBENTO-GUEST-POWEROFF\n' >"$c" 2>/dev/null; done
  sync
  poweroff -f
}

# bento.acpi=poweroff: wait (up to 5 s) for the ACPI "Power Button" input
# device, open it in a background listener and wait until it is open, so a
# button press after BENTO-GUEST-READY is never missed. Its first event
# (press or release: one 24-byte input_event) powers the guest off.
if [ "$acpi" != ignore ]; then
  [ "$acpi" = poweroff ] || echo "bento-init: unknown bento.acpi=$acpi, using poweroff"
  button=
  i=0
  while [ -z "$button" ] && [ $i -lt 50 ]; do
    for ev in /sys/class/input/event*; do
      [ "$(cat "$ev/device/name" 2>/dev/null)" = "Power Button" ] && button=/dev/input/${ev##*/} && break
    done
    [ -n "$button" ] || usleep 100000
    i=$((i + 1))
  done
  if [ -n "$button" ]; then
    (
      exec 3<"$button"
      : >/run/bento-button-open
      dd bs=24 count=1 of=/dev/null <&3 2>/dev/null && power_off
    ) &
    i=0
    while [ ! -e /run/bento-button-open ] && [ $i -lt 100 ]; do usleep 20000; i=$((i + 1)); done
  else
    echo "bento-init: no ACPI Power Button input device"
  fi
fi

# busybox init becomes PID 1: it gives each console a respawning root shell
# in its own session with the console as controlling tty, with default
# signal dispositions (so Ctrl-C and job control work), and reaps orphans.
for c in $consoles; do echo "${c#/dev/}::respawn:/etc/bento/shell"; done >/etc/inittab
exec /sbin/init
EOF
chmod 0755 "$ROOT/init"

log "packing initrd.img"
(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) |
  gzip -9n >"$BUILD/initrd.img"
cp "$VMLINUZ" "$BUILD/vmlinuz"
{
  echo "$STAMP_LINE"
  echo "kernel=$KPKG $KVER_PKG ($KREL)"
  echo "busybox-static=$BB_VERSION"
  echo "modules=${ORDER[*]}"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$BUILD/READY"

# Install: READY goes first out and last in, each file by rename.
rm -f "$GUEST_DIR/READY"
mv -f "$BUILD/vmlinuz" "$GUEST_DIR/vmlinuz"
mv -f "$BUILD/initrd.img" "$GUEST_DIR/initrd.img"
mv -f "$BUILD/READY" "$GUEST_DIR/READY"
log "built in $((SECONDS - START)) s: $KPKG, initrd $(du -k "$GUEST_DIR/initrd.img" | cut -f1) KiB"
echo "$GUEST_DIR"
