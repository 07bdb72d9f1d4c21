#!/usr/bin/env bash
# Runs every test: installs dependencies, starts ejabberd, coturn and Janus on 127.0.0.1, runs the
# workspace tests and a short signaling benchmark against both servers, and cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's start and the minutes since the run began, so a slow step shows in CI's log.
started=$SECONDS
step() { echo "== $(date -u +%H:%M:%S) (+$(((SECONDS - started) / 60)) min) $*"; }
step dependencies
scripts/deps.sh test
# The workspace includes the desktop shell, so its packages come before the first build.
scripts/deps.sh desktop-test
export SIMU_INFRA_RUN=${SIMU_INFRA_RUN:-$(mktemp -d /tmp/simu-infra.XXXXXX)}
trap 'infra/down.sh' EXIT
infra/up.sh
# shellcheck disable=SC1091
. "$SIMU_INFRA_RUN/env"
export SIMU_REQUIRE_INFRA=1
export CARGO_TERM_COLOR=never
# Every build here starts from scratch: incremental compilation's bookkeeping only costs time.
export CARGO_INCREMENTAL=0
# The lint gate first (the whole workspace and the UI): a warning fails the run.
step lint
scripts/lint.sh
# One build of the whole workspace, desktop shell included; everything below reuses it: the
# scripts run this `simu` (SIMU_CLI) and select the workspace (SIMU_CARGO_WORKSPACE) instead of
# `-p`, which would resolve features anew and rebuild, and the benchmarks measure this debug
# build (SIMU_BENCH_BUILD; the README's figures come from release builds of the same scripts).
step build
cargo build --workspace --all-targets --locked
export SIMU_CLI="$PWD/target/debug/simu" SIMU_CARGO_WORKSPACE=1 SIMU_BENCH_BUILD=debug
step tests
cargo test --workspace --locked
# What floods cost the server (dribbled stanza, 200 bad logins), /healthz latency throughout.
step bench attack
"$SIMU_CLI" bench attack
# A 3-member mesh call beside a 1:1 call in the same run (every stream must keep moving).
step bench group
"$SIMU_CLI" bench group --participants 3 --seconds 8
# Fuzz targets (libFuzzer via cargo-fuzz on stable), a short run each from the committed corpus.
step fuzz
SIMU_FUZZ_SEED=1 scripts/fuzz.sh 30
step interop
scripts/interop-xmpp.sh
# Simu <-> Chromium's own WebRTC, both ways, in a loopback-only network namespace.
scripts/interop-chromium.sh
# Simu <-> Firefox ESR (VP8 by negotiation: Debian's Firefox has no H.264), both ways; Firefox
# also joins by a call link.
scripts/interop-firefox.sh
# Call links: Chromium joins (per-call and room links, lobby admit and deny), refused links,
# axe-core on every state of the page.
scripts/interop-link.sh
# Loss, a bandwidth cap and a link outage between two network namespaces.
step faults
scripts/faults.sh
# Three members through a real Janus VideoRoom in its own network namespace: every stream
# decoded, a member leaves (`SIMU_SFU_MEMBERS=6 scripts/sfu-media.sh` is the long form).
step sfu
scripts/sfu-media.sh
# Chromium's own WebRTC in that conference beside two Simu CLIs: all six streams decoded.
scripts/interop-sfu.sh
# The web UI's unit tests (vitest in jsdom; no browser download; lint.sh installed ui/).
step ui
(cd ui && npx vitest run)
# The desktop app in a real window (Xvfb), driven through tauri-driver + WebKitWebDriver.
if ! command -v tauri-driver >/dev/null; then
  cargo install tauri-driver --locked --version "^2" --root "$PWD/target/tools"
  export PATH="$PWD/target/tools/bin:$PATH"
fi
step desktop
node --test ui/e2e/
# The .deb from the Tauri bundler (debug build, to reuse what the tests built): files and metadata.
step package
scripts/package.sh --debug
deb=$(ls target/debug/bundle/deb/*.deb)
listing=$(dpkg-deb -c "$deb")
for f in usr/bin/simu-desktop usr/share/applications/Simu.desktop usr/share/icons/hicolor/128x128/apps/simu-desktop.png; do
  grep -q "$f" <<<"$listing" || { echo "missing from the .deb: $f" >&2; exit 1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in libwebkit2gtk-4.1-0 libasound2 libvpx7 libayatana-appindicator3-1 libpulse0; do
  grep -q "$d" <<<"$depends" || { echo "the .deb does not depend on $d" >&2; exit 1; }
done
echo "package ok: $deb"
# What the desktop frame server spends per picture, against a plain copy in the same run.
step benches
"$SIMU_CLI" bench display --seconds 0.5
# A 1:1 call, Simu against two Chromium tabs (H.264, then VP8).
scripts/bench-call.sh
# The web call page: its size, and Join -> first remote frame beside a Simu-to-Simu call.
scripts/bench-link.sh --tries 3
# Through a real Janus: a 4-member call, two of them Chromium tabs in the same room, beside a
# 1:1 call (every stream must keep moving).
scripts/bench-sfu.sh --participants 4 --chromium 2 --seconds 8
# The benchmark is a check too: every round trip must come back, on both servers.
"$SIMU_CLI" bench signaling --pairs 20 --messages 100 \
  --ejabberd-ws "$SIMU_TEST_EJABBERD_WS" --ejabberd-jwk "$SIMU_TEST_EJABBERD_JWK" --ejabberd-domain "$SIMU_TEST_EJABBERD_DOMAIN"
step done
