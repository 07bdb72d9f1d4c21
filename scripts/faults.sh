#!/usr/bin/env bash
# Network fault tests: a call between two Simu peers in two network namespaces made here, with
# random loss (nftables), a bandwidth cap (tbf) and a link outage. Needs root. This kernel has
# no sch_netem, so added delay/jitter is not among the faults.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh faults
cargo build --locked -q -p simu-cli
node --test tests/faults/
