#!/usr/bin/env bash
# Makes the node that hosts bento's vz VMs: a copy of node, ad-hoc signed with the
# com.apple.security.virtualization entitlement (scripts/vz.entitlements). The entitlement belongs to
# the executable, never to the .node addon, and the system node stays untouched.
#
#   bash scripts/sign-node.sh [NODE [OUT]]
#
# NODE defaults to the node on PATH (the one that built bento's addon: they must match), OUT to
# $BENTO_VZ_NODE, else $BENTO_HOME/node-vz (BENTO_HOME defaults to ~/.bento). Run it again after
# upgrading node. The signature is ad hoc (no Apple developer identity) and without the hardened
# runtime, so node keeps its JIT and can load the unsigned addon.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
entitlements="$here/vz.entitlements"
entitlement="com.apple.security.virtualization"

die() { echo "sign-node: $*" >&2; exit 1; }

[[ "$(uname -s)" == Darwin ]] || die "the vz backend exists only on macOS; nothing to sign on $(uname -s)"
command -v codesign >/dev/null || die "codesign is missing: install the Xcode command line tools (xcode-select --install)"

src="${1:-$(command -v node || true)}"
[[ -n "$src" && -x "$src" ]] || die "no node to copy (give its path as the first argument)"
home="${BENTO_HOME:-$HOME/.bento}"
out="${2:-${BENTO_VZ_NODE:-$home/node-vz}}"

mkdir -p "$(dirname "$out")"
[[ "$(dirname "$out")" == "$home" ]] && chmod 700 "$home"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# cp follows a symlinked node (Homebrew's /opt/homebrew/bin/node) to the real binary.
cp "$src" "$tmp"
chmod 755 "$tmp"
codesign --force --sign - --entitlements "$entitlements" "$tmp"
codesign -d --entitlements - "$tmp" 2>/dev/null | grep -q "$entitlement" \
  || die "codesign ran, but $tmp does not show the $entitlement entitlement"
"$tmp" -e 'process.exit(0)' || die "the signed copy of $src does not run"
mv -f "$tmp" "$out"
trap - EXIT

echo "sign-node: $out is $("$out" --version), signed with $entitlement"
if [[ -z "${2:-}" && -z "${BENTO_VZ_NODE:-}" ]]; then
  echo "sign-node: bento's vz VMs will run under it (set BENTO_VZ_NODE to use another path)"
else
  echo "sign-node: point bento at it with BENTO_VZ_NODE=$out"
fi
