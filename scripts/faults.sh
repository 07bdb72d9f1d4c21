#!/usr/bin/env bash
# Network fault tests: a call between two Simu peers in two network namespaces made here, with
# random loss (nftables), bandwidth caps (tbf), jitter and delay (tests/faults/impair.py: this
# kernel has no sch_netem), lossy set-up and a link outage; and Chromium's own sender through the
# same caps, for comparison. Named network namespaces need root: run through sudo otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh interop
(cd tests/interop && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
if [ "$(id -u)" -ne 0 ]; then
  scripts/deps.sh faults
  . scripts/lib/cli.sh
  exec sudo --preserve-env=PATH,SIMU_CLI node --test tests/faults/
fi
scripts/deps.sh faults
. scripts/lib/cli.sh
node --test tests/faults/
