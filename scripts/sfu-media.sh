#!/usr/bin/env bash
# Media through a real Janus: members publish and receive through one VideoRoom, each decoding
# every other member's voice and picture: the link alone (crates/call/src/sfu/tests.rs), then
# CallManagers in a conference call through simu-server (tests/tests/conference.rs), beside a
# Janus in a network namespace of their own (scripts/janus-netns.sh).
# SIMU_SFU_MEMBERS sets how many members (default 3, as CI runs it; 6 is the long form).
# SIMU_CARGO_WORKSPACE=1 (test.sh) selects the whole workspace, as the build before it did, so
# cargo reuses those test binaries instead of resolving features for one package and rebuilding.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SIMU_CARGO_WORKSPACE:-}" = 1 ]; then
  lib=(--workspace --lib)
  e2e=(--workspace --test conference)
  recovery=(--workspace --test conference_recovery)
  camera=(--workspace --test conference_camera)
else
  lib=(-p simu-call --lib)
  e2e=(-p simu-e2e --test conference)
  recovery=(-p simu-e2e --test conference_recovery)
  camera=(-p simu-e2e --test conference_camera)
fi
cargo test --locked "${lib[@]}" --no-run --quiet
cargo test --locked "${e2e[@]}" --no-run --quiet
cargo test --locked "${recovery[@]}" --no-run --quiet
cargo test --locked "${camera[@]}" --no-run --quiet
scripts/janus-netns.sh cargo test --locked --offline "${lib[@]}" sfu::tests -- --nocapture
scripts/janus-netns.sh cargo test --locked --offline "${e2e[@]}" -- --nocapture
scripts/janus-netns.sh cargo test --locked --offline "${recovery[@]}" -- --nocapture
scripts/janus-netns.sh cargo test --locked --offline "${camera[@]}" -- --nocapture
