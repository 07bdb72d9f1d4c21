#!/usr/bin/env bash
# Calls between Simu (the `simu` CLI) and Debian's Firefox ESR with its own WebRTC, both ways,
# through simu-server, inside a network namespace of its own (a user namespace when not root).
# Firefox gathers candidates only on an interface with a default route, never on loopback alone,
# so the namespace gets a veth pair whose both ends stay inside it (10.99.0.1/24): nothing can
# leave the namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh interop
. scripts/lib/cli.sh
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(--map-root-user)
exec unshare "${as_root[@]}" --net bash -c 'ip link set lo up &&
  ip link add simu_ff0 type veth peer name simu_ff1 && ip addr add 10.99.0.1/24 dev simu_ff0 &&
  ip link set simu_ff0 up && ip link set simu_ff1 up && ip route add default via 10.99.0.2 dev simu_ff0 &&
  node --test tests/interop/firefox.test.mjs'
