#!/usr/bin/env bash
# Call links in a browser: Debian's Chromium opens links made by the `simu` CLI on the page
# simu-server serves, joins as a guest (or knocks), and Simu answers; refused links get their
# page. Runs inside a fresh network namespace that has only loopback (see interop-chromium.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh interop
(cd tests/interop && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
. scripts/lib/cli.sh
. scripts/lib/loopback.sh
loopback_exec node --test tests/interop/link.test.mjs
