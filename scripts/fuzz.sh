#!/usr/bin/env bash
# Runs every cargo-fuzz target (libFuzzer) for SECONDS each (default 30) from its committed
# corpus, on the stable toolchain (RUSTC_BOOTSTRAP=1). New inputs go to a temporary folder; a
# crash leaves its input in fuzz/artifacts/ and fails the run (turn it into a regression test).
# SIMU_FUZZ_SEED fixes libFuzzer's seed (the test script's short run uses one, so a run
# explores the same way each time; the long runs leave it random).
# Usage: scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
export PATH="$PWD/target/tools/bin:$PATH"
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked --root "$PWD/target/tools"
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
cargo fuzz build
for t in xml_stream signal_json nx_id links sdp; do
  work=$(mktemp -d)
  cp corpus/"$t"/* "$work"/
  seed=()
  [ -n "${SIMU_FUZZ_SEED:-}" ] && seed=(-seed="$SIMU_FUZZ_SEED")
  if ! cargo fuzz run "$t" "$work" -- -max_total_time="$secs" -max_len=4096 "${seed[@]}" 2>"$work.log"; then
    tail -40 "$work.log" >&2
    echo "fuzz: $t found a crash (input in fuzz/artifacts/$t)" >&2
    rm -rf "$work" "$work.log"
    exit 1
  fi
  echo "fuzz: $t: $(grep -o 'Done [0-9]* runs' "$work.log" | tail -1) in ${secs}s, no crash"
  rm -rf "$work" "$work.log"
done
