#!/usr/bin/env bash
# Runs the Simu desktop app. On first launch it starts simu-server in-process on
# 127.0.0.1:8787 (or joins one already running), creates a local profile and signs in; the
# echo contact is there to call. Extra arguments go to the app (e.g. --profile bob).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh desktop
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
CARGO_TARGET_DIR="$PWD/target" cargo build --release --manifest-path src-tauri/Cargo.toml
exec target/release/simu-desktop "$@"
