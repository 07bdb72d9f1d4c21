#!/usr/bin/env bash
# `simu bench link` (release build unless SIMU_BENCH_BUILD=debug): the web call page's transferred
# size, and "Join" in Chromium to the first remote frame beside a Simu-to-Simu call, inside a
# network namespace that has only loopback. Extra arguments go to the bench, e.g. `--tries 9`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh interop
. scripts/lib/bench-build.sh
. scripts/lib/loopback.sh
loopback_exec "$SIMU_BENCH" bench link "$@"
