#!/usr/bin/env bash
# Runs an XMPP-over-WebSocket client that Simu did not write (the team's reference Python
# client in ../shared/infra, using the `websockets` library) against simu-server: SASL PLAIN
# with an NX token, bind, session, presence, and chat round trips between two users.
set -euo pipefail
cd "$(dirname "$0")/.."
client=../shared/infra/xmpp_ws_client.py
if [ ! -f "$client" ]; then
  echo "interop: $client not found; skipped" >&2
  exit 0
fi
. scripts/lib/cli.sh
simu=$SIMU_CLI
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SIMU_DATA_DIR=$data $simu server --listen 127.0.0.1:$port > "$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
tok() { SIMU_DATA_DIR=$data $simu token --server "http://127.0.0.1:$port" --user "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
a=$(tok +255711000001); b=$(tok +255711000002)
# Debian's python3-websockets lives with Debian's interpreter, not with a pyenv one on PATH.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
out=$("$py" "$client" "ws://127.0.0.1:$port/nx-websocket/" simu.local \
  "+255711000001@simu.local" "$a" "+255711000002@simu.local" "$b" 200)
echo "$out"
grep -q "JSON body round-trips intact" <<<"$out"
grep -q "200 ping-pongs" <<<"$out"
grep -q "delayed(XEP-0203)=True" <<<"$out" || { echo "interop: offline message not replayed with a delay stamp" >&2; exit 1; }
echo "interop: 1 passed, 0 failed"
