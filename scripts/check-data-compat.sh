#!/usr/bin/env bash
# Checks that a data dir written by an older Cairn opens with this checkout's
# build and keeps every record at its offset: run it after changing storage
# (keys, stored types, snapshots).
#
#   scripts/check-data-compat.sh OLD_REV     e.g. scripts/check-data-compat.sh HEAD~5
#
# It builds `cairn` at OLD_REV (in a temporary git worktree, same target dir,
# so RocksDB is not built again) and at this checkout, then with one broker:
# the old build creates a topic, produces 1000 records, trims the first 400
# (a Raft snapshot and a log purge), produces 100 more and stops on SIGTERM;
# the new build starts on the same data dir, must read offsets 400..1099 with
# the same values, and appends the next record at offset 1100.
set -euo pipefail
cd "$(dirname "$0")/.."
old_rev="${1:?usage: scripts/check-data-compat.sh OLD_REV}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
work="$(mktemp -d)"
broker_pid=""
cleanup() {
  [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null || true
  git worktree remove --force "$work/old-src" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "compat: building cairn at $old_rev"
git worktree add --detach -q "$work/old-src" "$old_rev"
(cd "$work/old-src" && cargo build --locked -q --bin cairn)
cp "$CARGO_TARGET_DIR/debug/cairn" "$work/cairn-old"
echo "compat: building cairn at this checkout"
cargo build --locked -q --bin cairn
cp "$CARGO_TARGET_DIR/debug/cairn" "$work/cairn-new"

ports=($(python3 -c 'import socket
s=[socket.socket() for _ in range(3)]
[x.bind(("127.0.0.1",0)) for x in s]
print(" ".join(str(x.getsockname()[1]) for x in s))'))
kafka="127.0.0.1:${ports[0]}" raft="127.0.0.1:${ports[1]}" admin="127.0.0.1:${ports[2]}"
export CAIRN_ADMIN="$admin" CAIRN_BOOTSTRAP="$kafka"

start() {
  "$1" broker --id 1 --data-dir "$work/data" --raft-addr "$raft" --kafka-addr "$kafka" \
    --admin-addr "$admin" --seeds "1@$raft" --controller-voters 1 >>"$work/broker.log" 2>&1 &
  broker_pid=$!
  for _ in $(seq 1 150); do
    if curl -sf "http://$admin/v1/cluster" | grep -q '"live":true'; then return 0; fi
    sleep 0.2
  done
  echo "compat: broker ($1) did not come up; log:" >&2
  tail -30 "$work/broker.log" >&2
  exit 1
}
stop() {
  kill -TERM "$broker_pid"
  wait "$broker_pid" || { echo "compat: broker exited non-zero on SIGTERM" >&2; exit 1; }
  broker_pid=""
}
wait_led() {
  for _ in $(seq 1 150); do
    if curl -sf "http://$admin/v1/topics/compat" | grep -q '"leader":1'; then return 0; fi
    sleep 0.2
  done
  echo "compat: topic compat has no leader" >&2
  exit 1
}

start "$work/cairn-old"
"$work/cairn-old" topic create compat --partitions 1 --replication-factor 1 >/dev/null
wait_led
seq 0 999 | sed 's/^/v/' | "$work/cairn-old" produce compat --acks all --partition 0
"$work/cairn-old" topic trim compat -p 0 --before 400
seq 1000 1099 | sed 's/^/v/' | "$work/cairn-old" produce compat --acks all --partition 0
stop

start "$work/cairn-new"
wait_led
"$work/cairn-new" consume compat --partition 0 --from-beginning --max-messages 700 \
  --idle-timeout 10s --format '%o %v' >"$work/read.txt"
seq 400 1099 | awk '{print $1 " v" $1}' >"$work/expected.txt"
if ! diff -q "$work/expected.txt" "$work/read.txt" >/dev/null; then
  echo "compat: records read back differ from what the old build wrote:" >&2
  diff "$work/expected.txt" "$work/read.txt" | head -20 >&2
  exit 1
fi
echo v1100 | "$work/cairn-new" produce compat --acks all --partition 0
"$work/cairn-new" consume compat --partition 0 --offset 1100 --max-messages 1 \
  --idle-timeout 10s --format '%o %v' >"$work/next.txt"
[ "$(cat "$work/next.txt")" = "1100 v1100" ] || {
  echo "compat: the next record landed at '$(cat "$work/next.txt")', expected '1100 v1100'" >&2
  exit 1
}
stop
echo "compat: data written by $old_rev reads back unchanged (offsets 400..1099), appends continue at 1100"
