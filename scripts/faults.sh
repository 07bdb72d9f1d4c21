#!/usr/bin/env bash
# Network fault tests: a call between two Simu peers in two network namespaces made here, with
# random loss (nftables), a bandwidth cap (tbf) and a link outage. Named network namespaces
# need root: run through sudo otherwise. This kernel has no sch_netem, so added delay/jitter
# is not among the faults.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  scripts/deps.sh faults
  cargo build --locked -q -p simu-cli
  exec sudo --preserve-env=PATH node --test tests/faults/
fi
scripts/deps.sh faults
cargo build --locked -q -p simu-cli
node --test tests/faults/
