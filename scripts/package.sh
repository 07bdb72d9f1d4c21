#!/usr/bin/env bash
# Builds the desktop app and packages it with the Tauri bundler: a .deb (AppImage needs
# linuxdeploy from GitHub, which this build cannot reach). Usage: scripts/package.sh [--debug]
#
# The Tauri CLI wants a [package] Cargo.toml beside tauri.conf.json, but ours sits at the
# repository root over a virtual workspace. So the bundler is pointed at a generated folder
# holding the root config (paths made absolute) and a manifest that only names the package;
# the binary itself is the one cargo built from src-tauri/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
profile=release
cargo_flag=(--release)
bundle_flag=()
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  cargo_flag=()
  bundle_flag=(--debug)
fi
export CARGO_TARGET_DIR="$root/target"
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
# SIMU_CARGO_WORKSPACE=1 (test.sh): the workspace build already made the binary; selecting the
# workspace again reuses it (`-p` would resolve features for one package and rebuild).
select=(-p simu-desktop)
[ "${SIMU_CARGO_WORKSPACE:-}" = 1 ] && select=(--workspace --all-targets)
cargo build --locked "${cargo_flag[@]}" "${select[@]}"

stage="$root/target/package-stage"
rm -rf "$stage"
mkdir -p "$stage"
/usr/bin/python3 - "$root" "$stage" <<'EOF'
import json, os, sys
root, stage = sys.argv[1], sys.argv[2]
conf = json.load(open(os.path.join(root, "tauri.conf.json")))
conf["mainBinaryName"] = "simu-desktop"
conf["build"] = {"frontendDist": os.path.join(root, conf["build"]["frontendDist"])}
conf["bundle"]["icon"] = [os.path.join(root, p) for p in conf["bundle"]["icon"]]
json.dump(conf, open(os.path.join(stage, "tauri.conf.json"), "w"), indent=2)
EOF
version=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' tauri.conf.json)
cat >"$stage/Cargo.toml" <<EOF
[package]
name = "simu-desktop"
version = "$version"
description = "Simu: video calls"
edition = "2021"
license = "MIT"

[[bin]]
name = "simu-desktop"
path = "$root/src-tauri/src/main.rs"

[workspace]
EOF
TAURI_APP_PATH="$stage" TAURI_FRONTEND_PATH="$root/ui" ui/node_modules/.bin/tauri bundle "${bundle_flag[@]}" --bundles deb
ls -1 "$root/target/$profile/bundle/deb/"*.deb
