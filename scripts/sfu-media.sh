#!/usr/bin/env bash
# Media through a real Janus: members publish and receive through one VideoRoom, each decoding
# every other member's voice and picture: the link alone (crates/call/src/sfu/tests.rs), then
# CallManagers in a conference call through simu-server (tests/tests/conference.rs). Janus does ICE only on
# interfaces not flagged loopback, so Janus and the test run in a private network namespace
# whose veth carries 127.0.0.1/32 (../shared/infra/README.md): nothing can leave it.
# SIMU_SFU_MEMBERS sets how many members (default 3, as CI runs it; 6 is the long form).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v janus >/dev/null || { echo "janus is not installed (scripts/deps.sh)" >&2; exit 1; }
cargo test -p simu-call --lib --no-run --quiet
cargo test -p simu-e2e --test conference --no-run --quiet
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(--map-root-user)
exec unshare "${as_root[@]}" --net bash -euo pipefail -c '
  ip link set lo up
  ip link add simu0 type veth peer name simu1
  ip addr add 127.0.0.1/32 dev simu0
  ip link set simu0 up
  ip link set simu1 up
  export SIMU_INFRA_RUN=$(mktemp -d /tmp/simu-sfu.XXXXXX)
  trap "infra/down.sh" EXIT
  SIMU_INFRA_SERVICES=janus infra/up.sh
  . "$SIMU_INFRA_RUN/env"
  export SIMU_TEST_JANUS_MEDIA_WS=$SIMU_TEST_JANUS_WS
  export SIMU_TEST_JANUS_MEDIA_SECRET=$SIMU_TEST_JANUS_SECRET
  export SIMU_TEST_JANUS_MEDIA_ADMIN_KEY=$SIMU_TEST_JANUS_ADMIN_KEY
  cargo test --offline -p simu-call --lib sfu::tests -- --nocapture
  cargo test --offline -p simu-e2e --test conference -- --nocapture
'
