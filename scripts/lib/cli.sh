# Sourced by the scripts that drive the `simu` CLI: builds it unless SIMU_CLI already names a
# built one. test.sh builds the whole workspace once and sets SIMU_CLI, because
# `cargo build -p simu-cli` resolves features for that package alone and would rebuild much
# of the workspace a second time.
if [ -z "${SIMU_CLI:-}" ]; then
  cargo build --locked -q -p simu-cli
  SIMU_CLI="$PWD/target/debug/simu"
fi
export SIMU_CLI
