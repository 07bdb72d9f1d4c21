#!/usr/bin/env bash
# Media through a real Janus: members publish and receive through one VideoRoom, each decoding
# every other member's voice and picture: the link alone (crates/call/src/sfu/tests.rs), then
# CallManagers in a conference call through simu-server (tests/tests/conference.rs), beside a
# Janus in a network namespace of their own (scripts/janus-netns.sh).
# SIMU_SFU_MEMBERS sets how many members (default 3, as CI runs it; 6 is the long form).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test -p simu-call --lib --no-run --quiet
cargo test -p simu-e2e --test conference --no-run --quiet
scripts/janus-netns.sh cargo test --offline -p simu-call --lib sfu::tests -- --nocapture
scripts/janus-netns.sh cargo test --offline -p simu-e2e --test conference -- --nocapture
