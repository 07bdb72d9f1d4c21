#!/usr/bin/env bash
# The lint gate: formatting, clippy with warnings as errors (the lints are chosen in the
# workspace Cargo.toml, repeated in src-tauri's), and svelte-check for the UI.
#   scripts/lint.sh core      the workspace: cargo fmt --check, cargo clippy -D warnings, and
#                             simu-server's dependency tree free of the media stack
#   scripts/lint.sh desktop   src-tauri (needs the desktop packages: scripts/deps.sh desktop-test)
#                             and the UI (svelte-check; builds ui/dist, which tauri's macros read)
#   scripts/lint.sh           both
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
if [ "$what" = core ] || [ "$what" = all ]; then
  cargo fmt --all --check
  cargo clippy --workspace --all-targets --locked -- -D warnings
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
if [ "$what" = desktop ] || [ "$what" = all ]; then
  cargo fmt --manifest-path src-tauri/Cargo.toml --check
  (cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run check && npm run build)
  CARGO_TARGET_DIR="$PWD/target" cargo clippy --locked --manifest-path src-tauri/Cargo.toml --all-targets -- -D warnings
fi
