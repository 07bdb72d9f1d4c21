#!/usr/bin/env bash
# `simu bench group --mode sfu` (release build): members of a call through a real Janus, beside a
# 1:1 call, with Janus's own CPU, in a network namespace of their own (scripts/janus-netns.sh).
# Extra arguments go to the bench, e.g. `scripts/bench-sfu.sh --participants 6 --seconds 20`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/bench-build.sh
scripts/janus-netns.sh "$SIMU_BENCH" bench group --mode sfu "$@"
