#!/usr/bin/env bash
# Installs what building and testing Simu needs on Debian 12, skipping what is already there.
# Usage: scripts/deps.sh [build|test]   (test adds ejabberd and coturn)
set -euo pipefail
want=(pkg-config nasm cmake make gcc g++ python3 iproute2 ca-certificates)
[ "${1:-build}" = test ] && want+=(ejabberd coturn python3-websockets curl)
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
  $sudo apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null; then
  echo "cargo (Rust 1.80 or newer) is required: install it with rustup, then run this again" >&2
  exit 1
fi
