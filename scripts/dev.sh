#!/usr/bin/env bash
# The one command that sets up and starts a local 3-broker cluster:
# installs what the build needs, builds `cairn`, and runs `cairn dev`
# (extra arguments are passed on, e.g. `scripts/dev.sh --nodes 5`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
cargo build --locked --workspace --all-targets  # same features as the tests: no second RocksDB build
exec "$CARGO_TARGET_DIR/debug/cairn" dev "$@"
