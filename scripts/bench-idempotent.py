#!/usr/bin/env python3
"""What idempotence costs: `cairn bench` with plain acks=all producers and
with `--idempotent` producers (librdkafka `enable.idempotence=true`), in
alternating rounds against one local 3-broker cluster (real processes), each
round on a new topic. Prints every round, the medians, and the ratios
idempotent/plain of throughput and p99 (measured side by side in one run, so
the shared machine's noise hits both alike).

Usage: scripts/bench-idempotent.py [--rounds 2] [--duration 20s] [--cairn PATH]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Cluster, default_cairn  # noqa: E402


def bench(cairn, bootstrap, topic, duration, idempotent):
    cmd = [cairn, "bench", "--bootstrap-server", bootstrap, "--topic", topic, "--duration", duration,
           "--warmup", "3s", "--output", "json"]
    if idempotent:
        cmd.append("--idempotent")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["produce"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duration", default="20s")
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--cairn", default=default_cairn())
    args = ap.parse_args()
    cluster = Cluster(args.cairn)
    results = {False: [], True: []}
    try:
        cluster.wait_formed()
        bootstrap = cluster.bootstrap()
        print(f"cairn: {args.cairn}; 3 brokers; cairn bench defaults (1 KiB, 4 producers x 64 in flight, "
              f"acks=all), {args.partitions} partitions RF 3, {args.duration} per round", flush=True)
        for r in range(args.rounds):
            for idempotent in (False, True):
                topic = f"idem-{r}-{int(idempotent)}"
                cluster.create_topic(topic, args.partitions)
                m = bench(args.cairn, bootstrap, topic, args.duration, idempotent)
                results[idempotent].append(m)
                print(f"round {r + 1} {'idempotent' if idempotent else 'plain     '}: "
                      f"{m['msgs_per_sec']:,.0f} msg/s, p50 {m['p50_ms']:.2f} ms, p99 {m['p99_ms']:.2f} ms, "
                      f"p99.9 {m['p999_ms']:.2f} ms, errors {m['errors']}", flush=True)
    finally:
        cluster.stop()

    def median(idempotent, key):
        return statistics.median(m[key] for m in results[idempotent])

    for idempotent in (False, True):
        print(f"median {'idempotent' if idempotent else 'plain'}: {median(idempotent, 'msgs_per_sec'):,.0f} msg/s, "
              f"p99 {median(idempotent, 'p99_ms'):.2f} ms")
    print(f"ratio idempotent/plain: throughput {median(True, 'msgs_per_sec') / median(False, 'msgs_per_sec'):.2f} "
          f"p99 {median(True, 'p99_ms') / median(False, 'p99_ms'):.2f}")


if __name__ == "__main__":
    main()
