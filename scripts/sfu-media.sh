#!/usr/bin/env bash
# Media through a real Janus: members publish and receive through one VideoRoom, each decoding
# every other member's voice and picture: the link alone (crates/call/src/sfu/tests.rs), then
# CallManagers through simu-server: a conference call (tests/tests/conference.rs), a camera
# turned on in an audio-only one (conference_camera.rs), a mesh call moving onto Janus as it
# grows (conference_growth.rs), and one riding out a break in the path to Janus
# (conference_recovery.rs). Each binary runs on its own, beside a Janus in a network namespace
# of its own (scripts/janus-netns.sh): the last one cuts the namespace's media ports.
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
  growth=(--workspace --test conference_growth)
else
  lib=(-p simu-call --lib)
  e2e=(-p simu-e2e --test conference)
  recovery=(-p simu-e2e --test conference_recovery)
  camera=(-p simu-e2e --test conference_camera)
  growth=(-p simu-e2e --test conference_growth)
fi
cargo test --locked "${lib[@]}" --no-run --quiet
cargo test --locked "${e2e[@]}" --no-run --quiet
cargo test --locked "${recovery[@]}" --no-run --quiet
cargo test --locked "${camera[@]}" --no-run --quiet
cargo test --locked "${growth[@]}" --no-run --quiet
scripts/janus-netns.sh cargo test --locked --offline "${lib[@]}" sfu::tests -- --nocapture
scripts/janus-netns.sh cargo test --locked --offline "${e2e[@]}" -- --nocapture
scripts/janus-netns.sh cargo test --locked --offline "${recovery[@]}" -- --nocapture
scripts/janus-netns.sh cargo test --locked --offline "${camera[@]}" -- --nocapture
scripts/janus-netns.sh cargo test --locked --offline "${growth[@]}" -- --nocapture
