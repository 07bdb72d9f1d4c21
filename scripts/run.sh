#!/usr/bin/env bash
# Runs Simu with its embedded server on 127.0.0.1:8787 (the desktop shell is not built yet:
# until it is, this starts the server, and `simu call` / `simu answer` are the clients).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
cargo build --release --locked -p simu-cli
exec target/release/simu server "$@"
