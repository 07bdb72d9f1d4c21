#!/usr/bin/env bash
# `simu bench call` for H.264 and then VP8 (release build): Simu's two peers against two
# Chromium tabs, inside a network namespace that has only loopback, so nothing leaves
# 127.0.0.1. Extra arguments go to the bench, e.g. `scripts/bench-call.sh --calls 5 --seconds 20`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh interop
. scripts/lib/bench-build.sh
. scripts/lib/loopback.sh
loopback_exec bash -c 'for c in h264 vp8; do "$SIMU_BENCH" bench call --codec "$c" "$@" || exit 1; done' bench-call "$@"
