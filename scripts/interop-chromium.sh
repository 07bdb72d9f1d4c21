#!/usr/bin/env bash
# Calls between Simu (the `simu` CLI) and Debian's Chromium with its own WebRTC, both ways,
# through simu-server. Runs inside a fresh network namespace that has only loopback, so neither
# side can reach (or leak traffic to) anything but 127.0.0.1. As root it uses a plain network
# namespace; otherwise a user namespace maps the caller to root inside it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh interop
(cd tests/interop && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
. scripts/lib/cli.sh
. scripts/lib/loopback.sh
loopback_exec node --test tests/interop/chromium.test.mjs
