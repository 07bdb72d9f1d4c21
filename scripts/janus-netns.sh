#!/usr/bin/env bash
# Runs a command beside a Janus of its own, in a private network namespace: Janus does ICE only
# on interfaces not flagged loopback, so the namespace's veth carries 127.0.0.1/32
# (../shared/infra/README.md) and nothing can leave it. The command finds Janus through
# SIMU_JANUS_URL, SIMU_JANUS_SECRET, SIMU_JANUS_ADMIN_KEY and SIMU_JANUS_PID, and its media
# ports through SIMU_JANUS_RTP_PORTS (a test may cut them: the namespace is its own).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v janus >/dev/null || { echo "janus is not installed (scripts/deps.sh test)" >&2; exit 1; }
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(--map-root-user)
exec unshare "${as_root[@]}" --net bash -euo pipefail -c '
  ip link set lo up
  ip link add simu0 type veth peer name simu1
  ip addr add 127.0.0.1/32 dev simu0
  ip link set simu0 up
  ip link set simu1 up
  export SIMU_INFRA_RUN=$(mktemp -d /tmp/simu-janus.XXXXXX)
  trap "infra/down.sh" EXIT
  SIMU_INFRA_SERVICES=janus infra/up.sh >/dev/null
  . "$SIMU_INFRA_RUN/env"
  export SIMU_JANUS_URL=$SIMU_TEST_JANUS_WS SIMU_JANUS_SECRET=$SIMU_TEST_JANUS_SECRET
  export SIMU_JANUS_ADMIN_KEY=$SIMU_TEST_JANUS_ADMIN_KEY
  export SIMU_JANUS_RTP_PORTS=$SIMU_TEST_JANUS_RTP_PORTS
  export SIMU_JANUS_PID=$(cat "$SIMU_INFRA_RUN/janus/pid")
  "$@"
' janus-netns "$@"
