#!/usr/bin/env bash
# Several `cairn chaos` runs in a row with consecutive seeds, then one line per
# run and the totals: what the notes' "10 runs x 120 s" figures come from.
#
#   scripts/chaos-runs.sh [WORKLOAD] [RUNS] [DURATION] [FIRST_SEED]
#   scripts/chaos-runs.sh group 10 120s 201
#   scripts/chaos-runs.sh txn 10 120s 301     # also totals transactions by outcome
#
# Every fault (kill, pause, partition; partition needs root and nft). Each
# run's history and report stay in $CHAOS_OUT (default ./chaos-runs/seed-N).
# $CHAOS_ARGS goes to every run, e.g.
#   CHAOS_ARGS="--nodes 5 --faults kill,pause,partition,membership" scripts/chaos-runs.sh plain 10 120s
# Exits non-zero if any run failed or found an anomaly.
set -euo pipefail
cd "$(dirname "$0")/.."
workload="${1:-plain}"
runs="${2:-10}"
duration="${3:-120s}"
first="${4:-101}"
out="${CHAOS_OUT:-chaos-runs}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cairn-target}"
scripts/setup.sh
cargo build --workspace --all-targets --locked
# A copy: a build during the runs must not swap the binary that restarted
# brokers exec.
bin_dir="$(mktemp -d)"
trap 'rm -rf "$bin_dir"' EXIT
cp "$CARGO_TARGET_DIR/debug/cairn" "$bin_dir/cairn"
cairn="$bin_dir/cairn"
status=0
for ((i = 0; i < runs; i++)); do
  seed=$((first + i))
  dir="$out/seed-$seed"
  rm -rf "$dir"
  mkdir -p "$dir"
  # shellcheck disable=SC2086 # CHAOS_ARGS is a list of arguments.
  if "$cairn" chaos --workload "$workload" --duration "$duration" --seed "$seed" \
      --out "$dir" ${CHAOS_ARGS:-} > "$dir/stdout.txt" 2>&1; then
    echo "seed $seed: ok"
  else
    echo "seed $seed: FAILED (see $dir/stdout.txt)"
    status=1
  fi
done
python3 - "$out" "$first" "$runs" <<'PY'
import json, os, sys
out, first, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keys = ["ok", "fail", "info", "commits_ok", "commits_failed", "commits_unknown", "assignments"]
total = {k: 0 for k in keys}
txns = [0, 0, 0]
anomalies = 0
print(f"{'seed':>6} {'anomalies':>9} " + " ".join(f"{k:>15}" for k in keys) + "  longest unavailable  txns committed/aborted/unknown")
for seed in range(first, first + runs):
    path = os.path.join(out, f"seed-{seed}", "report.json")
    if not os.path.exists(path):
        print(f"{seed:>6} {'no report':>9}")
        continue
    r = json.load(open(path))
    anomalies += len(r["anomalies"])
    for k in keys:
        total[k] += r.get(k, 0)
    worst = max(r["longest_unavailable_ns"].values(), default=0) / 1e9
    t = r.get("txns", [0, 0, 0])
    txns = [a + b for a, b in zip(txns, t)]
    print(f"{seed:>6} {len(r['anomalies']):>9} " + " ".join(f"{r.get(k, 0):>15}" for k in keys)
          + f"  {worst:>18.2f}s  {t[0]}/{t[1]}/{t[2]}")
print(f"{'total':>6} {anomalies:>9} " + " ".join(f"{total[k]:>15}" for k in keys)
      + f"  {'':>19}  {txns[0]}/{txns[1]}/{txns[2]}")
PY
exit $status
