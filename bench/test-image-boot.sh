#!/usr/bin/env bash
# test-image-boot.sh: boot the test image (scripts/build-test-image.sh) twice
# from one overlay under TCG and print how long each boot takes to reach:
#   grub    GRUB's "Loading Linux ..." on serial
#   kernel  the kernel's first line ("Linux version ...")
#   keys    cloud-init's "-----BEGIN SSH HOST KEY KEYS-----" (first boot only)
#   final   cloud-init's "Cloud-init v. ... finished at"
#   login   the serial getty's "login:" prompt
#   ssh     `ssh tester@127.0.0.1 cat /etc/hostname` answering "probe"
# then `systemd-analyze` and the top of `systemd-analyze blame` for each boot.
#
# Usage: bash bench/test-image-boot.sh [IMAGE.qcow2]
#   Default image: the one scripts/build-test-image.sh builds (or reuses).
#   SEED=vscsi (default: virtio-scsi CD) | vblk (virtio-blk) | pc (-machine pc
#   + ide-cd) | ide (-machine q35 + ide-cd: the cloud kernel cannot see it).
#   USER_DATA_EXTRA: more #cloud-config lines, e.g. 'ssh_genkeytypes: [ed25519]'
#   TIMEOUT: seconds per boot (default 300). KEEP=1 keeps the work folder.
# Figures depend on the host's load: note `uptime` beside them.
set -euo pipefail

IMAGE=${1:-}
if [[ -z $IMAGE ]]; then
  DIR=$(bash "$(dirname "${BASH_SOURCE[0]}")/../scripts/build-test-image.sh" | tail -n1)
  IMAGE="$DIR/debian-12-bento-test-amd64.qcow2"
fi
[[ -s $IMAGE ]] || { echo "no image at $IMAGE" >&2; exit 1; }
for c in qemu-system-x86_64 qemu-img genisoimage ssh ssh-keygen node; do
  command -v "$c" >/dev/null || { echo "missing $c" >&2; exit 1; }
done

W=$(mktemp -d "${TMPDIR:-/tmp}/bento-image-boot.XXXXXX")
QPID=
cleanup() {
  if [[ -n $QPID ]] && kill -0 "$QPID" 2>/dev/null; then
    kill "$QPID" 2>/dev/null || true
    wait "$QPID" 2>/dev/null || true
  fi
  if [[ -n ${KEEP:-} ]]; then echo "work folder: $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
cd "$W"

ssh-keygen -q -t ed25519 -N '' -C bench -f key
cat >user-data <<EOF
#cloud-config
users:
  - name: tester
    sudo: ALL=(ALL) NOPASSWD:ALL
    shell: /bin/bash
    ssh_authorized_keys:
      - $(cat key.pub)
${USER_DATA_EXTRA:-}
EOF
printf 'instance-id: bench-001\nlocal-hostname: probe\n' >meta-data
genisoimage -quiet -output seed.iso -volid cidata -joliet -rock user-data meta-data
qemu-img create -q -f qcow2 -b "$(realpath "$IMAGE")" -F qcow2 overlay.qcow2 4G
PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')

MACHINE=q35
CD=(-drive file=seed.iso,format=raw,if=none,id=cd0,media=cdrom,readonly=on)
case ${SEED:-vscsi} in
  vscsi) SEED_DEV=("${CD[@]}" -device virtio-scsi-pci,id=scsi0 -device scsi-cd,drive=cd0,bus=scsi0.0) ;;
  vblk) SEED_DEV=(-drive file=seed.iso,format=raw,if=none,id=cd0,readonly=on -device virtio-blk-pci,drive=cd0) ;;
  pc) MACHINE=pc SEED_DEV=("${CD[@]}" -device ide-cd,drive=cd0) ;;
  ide) SEED_DEV=("${CD[@]}" -device ide-cd,drive=cd0) ;;
  *) echo "unknown SEED=$SEED" >&2; exit 1 ;;
esac
SSH=(ssh -p "$PORT" -i key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o BatchMode=yes -o ConnectTimeout=3 -o LogLevel=ERROR tester@127.0.0.1)
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

echo "image: $IMAGE ($(qemu-img info "$IMAGE" | awk -F': ' '/virtual size/ { print $2 }'))"
echo "seed: ${SEED:-vscsi}, machine $MACHINE; host: $(uptime | sed 's/.*load/load/')"
for boot in 1 2; do
  LOG=serial$boot.log
  : >"$LOG"
  rm -f ssh-ok
  T0=$(now)
  qemu-system-x86_64 -accel tcg -machine "$MACHINE" -m 1024 -smp 2 -nodefaults -display none \
    -drive file=overlay.qcow2,format=qcow2,if=none,id=d0 -device virtio-blk-pci,drive=d0,bootindex=0 \
    "${SEED_DEV[@]}" \
    -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:22" \
    -device virtio-net-pci,netdev=n0,romfile= \
    -serial "file:$LOG" &
  QPID=$!
  # SSH is probed in the background so the serial markers keep their 0.2 s
  # resolution while a connection attempt hangs.
  (
    while kill -0 "$QPID" 2>/dev/null; do
      if [[ $(timeout 10 "${SSH[@]}" cat /etc/hostname 2>/dev/null) == probe ]]; then
        now >ssh-ok
        exit 0
      fi
      sleep 0.5
    done
  ) &
  PROBER=$!
  declare -A T=()
  declare -A MARK=([grub]='Loading Linux' [kernel]='Linux version' [keys]='BEGIN SSH HOST KEY KEYS'
    [final]='Cloud-init v. .* finished at' [login]='login:')
  deadline=$(($(date +%s) + ${TIMEOUT:-300}))
  while (($(date +%s) < deadline)) && kill -0 "$QPID" 2>/dev/null; do
    t=$(now)
    for k in "${!MARK[@]}"; do
      [[ -z ${T[$k]:-} ]] && grep -aq "${MARK[$k]}" "$LOG" && T[$k]=$t
    done
    [[ -z ${T[ssh]:-} && -s ssh-ok ]] && T[ssh]=$(cat ssh-ok)
    [[ -n ${T[ssh]:-} && -n ${T[final]:-} ]] && break
    sleep 0.2
  done
  echo
  echo "boot $boot (seconds from qemu start):"
  for k in grub kernel keys final login ssh; do
    if [[ -n ${T[$k]:-} ]]; then printf '  %-7s %6s\n' "$k" "$(since "$T0" "${T[$k]}")"; else printf '  %-7s %6s\n' "$k" -; fi
  done
  if [[ -n ${T[ssh]:-} ]]; then
    timeout 120 "${SSH[@]}" 'systemctl is-system-running --wait >/dev/null; systemd-analyze | head -n1; systemd-analyze blame | head -n 12' |
      sed 's/^/  /' || true
    timeout 60 "${SSH[@]}" 'sudo systemctl poweroff' >/dev/null 2>&1 || true
    for _ in $(seq 1 300); do kill -0 "$QPID" 2>/dev/null || break; sleep 0.2; done
  fi
  kill "$PROBER" 2>/dev/null || true
  wait "$PROBER" 2>/dev/null || true
  if kill -0 "$QPID" 2>/dev/null; then
    echo "  (no clean poweroff: killing qemu)"
    kill "$QPID"
  fi
  wait "$QPID" 2>/dev/null || true
  QPID=
  unset T
done
echo
echo "serial (boot 1), host-key block and final message:"
grep -a -A6 'BEGIN SSH HOST KEY KEYS' serial1.log | sed -n '1,/END SSH HOST KEY KEYS/p' | cut -c1-100 | sed 's/^/  /'
grep -a 'Cloud-init v. .* finished at' serial1.log | sed 's/^/  /'
