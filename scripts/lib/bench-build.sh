# Sourced by the benchmark scripts: sets SIMU_BENCH to the `simu` binary to measure. By default
# the release build (the figures in the README are release figures). SIMU_BENCH_BUILD=debug uses
# the debug build test.sh already made (CI's short form, where only the checks count: the
# dependencies are optimised there too, Simu's own crates are not, so the ratios are not the
# release ones, and the bench says so).
case "${SIMU_BENCH_BUILD:-release}" in
  release)
    cargo build --release --locked -q -p simu-cli
    SIMU_BENCH="$PWD/target/release/simu"
    ;;
  debug)
    . scripts/lib/cli.sh
    SIMU_BENCH=$SIMU_CLI
    ;;
  *)
    echo "SIMU_BENCH_BUILD is release or debug, not ${SIMU_BENCH_BUILD}" >&2
    exit 2
    ;;
esac
export SIMU_BENCH
