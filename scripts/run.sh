#!/usr/bin/env bash
# Runs the Simu desktop app. On first launch it starts simu-server in-process on
# 127.0.0.1:8787 (or joins one already running), creates a local profile and signs in; the
# echo contact is there to call. Extra arguments go to the app (e.g. --profile bob).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh desktop
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
cargo build --release --locked -p simu-desktop
exec target/release/simu-desktop "$@"
