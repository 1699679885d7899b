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
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
# Benchmark builds target x86-64-v3 (2013+ CPUs: SSE4.2, PCLMUL, AVX2) so that
# RocksDB computes its WAL and block CRC32C in hardware; tests keep the default.
export RUSTFLAGS="${CAIRN_BENCH_RUSTFLAGS:--C target-cpu=x86-64-v3}"
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
