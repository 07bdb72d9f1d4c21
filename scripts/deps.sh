#!/usr/bin/env bash
# Installs what building and testing Simu needs on Debian 12, skipping what is already there.
# Usage: scripts/deps.sh [build|test|desktop|desktop-test|interop|faults]
set -euo pipefail
want=(pkg-config nasm cmake make gcc g++ python3 iproute2 ca-certificates libasound2-dev libvpx-dev libclang-dev libpulse-dev)
desktop=(libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev)
case "${1:-build}" in
  test) want+=(ejabberd coturn janus python3-websockets curl pulseaudio pulseaudio-utils libasound2-plugins) ;;
  desktop) want+=("${desktop[@]}") ;;
  interop) want+=(chromium firefox-esr iproute2 util-linux) ;;
  faults) want+=(iproute2 nftables) ;;
  desktop-test) want+=("${desktop[@]}" xvfb webkit2gtk-driver xauth imagemagick procps pulseaudio pulseaudio-utils libasound2-plugins python3-xlib) ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node may come from elsewhere (nodesource): ask apt only when there is no npm at all.
case "${1:-build}" in test|desktop*|interop|faults) command -v npm >/dev/null || missing+=(nodejs npm) ;; esac
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
# The lint gate needs rustfmt and clippy (rustup's default profile has both).
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null; then
    rustup component add rustfmt clippy
  else
    echo "rustfmt and clippy are required (rustup component add rustfmt clippy)" >&2
    exit 1
  fi
fi
