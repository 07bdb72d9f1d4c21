#!/usr/bin/env bash
# The long forms of the network fault tests, whose figures go in the notes (CI runs the short
# forms through scripts/faults.sh): every bandwidth cap (300 kbit/s, 1 and 2.5 Mbit/s) for 30 s,
# a lifting cap, 20 call set-ups over 15% loss, jitter and delay. Then a 10-minute Simu call,
# window by window (fps, bitrate, glass-to-glass, memory). Needs root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
SIMU_FAULTS_LONG=1 scripts/faults.sh
cargo build --release --locked -q -p simu-cli
target/release/simu bench call --no-chromium --calls 1 --seconds 600 --windows 10
