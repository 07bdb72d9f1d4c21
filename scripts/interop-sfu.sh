#!/usr/bin/env bash
# Debian's Chromium, with its own WebRTC, as a member of a conference call beside two Simu CLIs:
# a real Janus VideoRoom in a network namespace of its own (scripts/janus-netns.sh), simu-server
# configured with it, tests/interop/conference.test.mjs driving the browser.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh interop
(cd tests/interop && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
. scripts/lib/cli.sh
exec scripts/janus-netns.sh node --test tests/interop/conference.test.mjs
