#!/usr/bin/env bash
# Cairn's benchmarks, on release builds (tests use the dev profile; benchmarks
# of unoptimized code would say little). What `just bench` runs.
#
#   scripts/bench.sh [all|storage|jetstream|scale] [flags for that benchmark]
#
#   storage    criterion micro-benchmarks of the storage layer (append to one
#              and to 100 Raft groups, sequential fetch) and write amplification
#   jetstream  Cairn vs NATS JetStream side by side (scripts/bench-vs-jetstream.sh)
#   scale      1000 partitions with RF 3 on 3 brokers (scripts/bench-scale.py)
#   all        the three, in that order (default)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Benchmark builds are release builds for this machine's CPU (so that RocksDB
# computes its CRC32C in hardware), in their own target dir so that they do not
# displace the test build.
export CARGO_TARGET_DIR="${CAIRN_BENCH_TARGET_DIR:-$HOME/.cache/cairn-target-bench}"
export RUSTFLAGS="${CAIRN_BENCH_RUSTFLAGS:--C target-cpu=native}"
what="${1:-all}"
[ $# -gt 0 ] && shift

build() {
  echo "bench: building release binaries"
  cargo build --release --workspace --all-targets --locked >/dev/null
}

storage() {
  build
  local bin
  bin="$(ls -t "$CARGO_TARGET_DIR"/release/deps/storage-* | grep -v '\.d$' | head -1)"
  "$bin" --bench "$@"
}

scale() {
  build
  python3 scripts/bench-scale.py --cairn "$CARGO_TARGET_DIR/release/cairn" "$@"
}

case "$what" in
  storage) storage "$@" ;;
  jetstream) scripts/bench-vs-jetstream.sh "$@" ;;
  scale) scale "$@" ;;
  all) storage; scripts/bench-vs-jetstream.sh; scale ;;
  *) echo "bench: unknown benchmark '$what' (all, storage, jetstream, scale)" >&2; exit 2 ;;
esac
