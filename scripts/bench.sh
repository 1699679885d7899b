#!/usr/bin/env bash
# Cairn's benchmarks, on release builds (tests use the dev profile; benchmarks
# of unoptimized code would say little). What `just bench` runs.
#
#   scripts/bench.sh [all|produce|storage|jetstream|scale|groups|idempotent|txn|failover] [flags for that benchmark]
#
#   produce    criterion, end to end (benches/produce.rs): acks=all bursts from
#              librdkafka to real broker processes, 1 broker RF 1 and 3 brokers RF 3
#   storage    criterion micro-benchmarks of the storage layer (append to one
#              and to 100 Raft groups, sequential fetch) and write amplification
#   jetstream  Cairn vs NATS JetStream side by side (scripts/bench-vs-jetstream.sh)
#   scale      1000 partitions with RF 3 on 3 brokers (scripts/bench-scale.py)
#   groups     consumer groups: a 1 GiB backlog read by a group of 3 vs one
#              consumer, commit latency at 1000/s, rebalance time, idle cost
#              (scripts/bench-groups.py)
#   idempotent idempotent vs plain acks=all producers, alternating rounds
#              (scripts/bench-idempotent.py)
#   txn        transactions of 10 and of 100 records vs plain acks=all
#              producers, alternating rounds (scripts/bench-txn.py)
#   failover   windows without an acknowledged send per partition when the
#              broker leading a third of 1000 partitions is SIGKILLed, and
#              during a rolling restart (scripts/bench-failover.py)
#   all        the seven, in that order (default)
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

# Runs the newest release build of the criterion benchmark named $1.
criterion_bench() {
  local name="$1" bin
  shift
  build
  bin="$(ls -t "$CARGO_TARGET_DIR"/release/deps/"$name"-* | grep -v '\.d$' | head -1)"
  "$bin" --bench "$@"
}

scale() {
  build
  python3 scripts/bench-scale.py --cairn "$CARGO_TARGET_DIR/release/cairn" "$@"
}

groups() {
  build
  python3 scripts/bench-groups.py --cairn "$CARGO_TARGET_DIR/release/cairn" "$@"
}

failover() {
  build
  python3 scripts/bench-failover.py --cairn "$CARGO_TARGET_DIR/release/cairn" "$@"
}

txn() {
  build
  python3 scripts/bench-txn.py --cairn "$CARGO_TARGET_DIR/release/cairn" "$@"
}

idempotent() {
  build
  python3 scripts/bench-idempotent.py --cairn "$CARGO_TARGET_DIR/release/cairn" "$@"
}

case "$what" in
  produce) criterion_bench produce "$@" ;;
  storage) criterion_bench storage "$@" ;;
  jetstream) scripts/bench-vs-jetstream.sh "$@" ;;
  scale) scale "$@" ;;
  groups) groups "$@" ;;
  idempotent) idempotent "$@" ;;
  txn) txn "$@" ;;
  failover) failover "$@" ;;
  all) criterion_bench produce; criterion_bench storage; scripts/bench-vs-jetstream.sh; scale; groups; idempotent; txn; failover ;;
  *) echo "bench: unknown benchmark '$what' (all, produce, storage, jetstream, scale, groups, idempotent, txn, failover)" >&2; exit 2 ;;
esac
