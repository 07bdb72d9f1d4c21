#!/usr/bin/env bash
# The lint gate: formatting, clippy with warnings as errors (the lints are chosen in the
# workspace Cargo.toml), and svelte-check for the UI.
#   scripts/lint.sh core      the core crates (the workspace's default members): cargo fmt
#                             --check, cargo clippy -D warnings, and simu-server's dependency
#                             tree free of the media stack
#   scripts/lint.sh desktop   the Tauri shell (needs the desktop packages: scripts/deps.sh
#                             desktop-test) and the UI (svelte-check; builds ui/dist, which
#                             tauri's macros read)
#   scripts/lint.sh           both, with one clippy run over the whole workspace (what test.sh
#                             builds next, so the dependencies are checked once)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
case "$what" in
  core) clippy=() ;;
  desktop) clippy=(-p simu-desktop) ;;
  all) clippy=(--workspace) ;;
  *) echo "usage: scripts/lint.sh [core|desktop]" >&2; exit 2 ;;
esac
cargo fmt --all --check
# simu-server embeds the web call page (ui/dist-call), so even the core build needs it.
if [ "$what" != core ]; then
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run check && npm run build)
else
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build:call)
fi
cargo clippy "${clippy[@]}" --all-targets --locked -- -D warnings
if [ "$what" != desktop ]; then
  # The server links no client media stack: no capture, no codec library, no audio processing,
  # no WebRTC (the echo contact is a crate of its own, composed beside the server).
  linked=$(cargo tree -p simu-server -e normal,build --prefix none --locked \
    | grep -E '^(cpal|nokhwa|openh264|env-libvpx-sys|opus|sonora|webrtc|simu-media|simu-peer|simu-call) ' | sort -u || true)
  if [ -n "$linked" ]; then
    echo "simu-server links the media stack:" >&2
    echo "$linked" >&2
    exit 1
  fi
fi
