#!/usr/bin/env python3
"""The cost of many partitions: Cairn's control plane on a local 3-broker
cluster (real processes):

- time to create a topic of P partitions with RF 3 and until every partition
  has a leader with a full ISR;
- idle CPU (percent of one core) and resident memory per broker with those
  partitions, sampled from /proc over a quiet window;
- after SIGKILL of the broker leading the most partitions: the time until
  every partition it led has a new leader, as seen through another broker's
  admin API (election + dissemination).

Usage: scripts/bench-scale.py [--partitions 1000] [--idle-seconds 20] [--cairn PATH]
Uses the benchmark build (`scripts/bench.sh scale` builds it), else the debug one.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Cluster, default_cairn, get, rss_mib, wait  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--idle-seconds", type=int, default=20)
    ap.add_argument("--cairn", default=default_cairn())
    args = ap.parse_args()

    cluster = Cluster(args.cairn)
    procs, admin = cluster.procs, cluster.admin
    try:
        cluster.wait_formed()
        t0 = time.time()
        view = cluster.create_topic("load", args.partitions)
        led = time.time() - t0

        time.sleep(3)
        before = cluster.cpu_ticks()
        time.sleep(args.idle_seconds)
        after = cluster.cpu_ticks()
        hz = os.sysconf("SC_CLK_TCK")
        idle = {i: 100.0 * (after[i] - before[i]) / hz / args.idle_seconds for i in procs}
        rss = {i: rss_mib(p.pid) for i, p in procs.items()}

        counts = {}
        for p in view["partitions"]:
            counts[p["leader"]] = counts.get(p["leader"], 0) + 1
        victim = max(counts, key=counts.get)
        print("leaders per broker after creation:", dict(sorted(counts.items())))
        moved = [p["partition"] for p in view["partitions"] if p["leader"] == victim]
        observer = next(i for i in procs if i != victim)
        t1 = time.time()
        cluster.kill(victim)

        def moved_all():
            v = get(admin(observer) + "/v1/cluster")
            if not v:
                return None
            by = {p["partition"]: p for p in v["partitions"] if p["topic"] == "load"}
            return all(by[m]["leader"] not in (None, victim) for m in moved)
        wait("leaders to move", 120, moved_all)
        failover = time.time() - t1

        print(f"partitions={args.partitions} rf=3 brokers=3 ({args.cairn})")
        print(f"create topic until every partition is led with ISR 3: {led:.2f}s")
        for i in procs:
            print(f"broker {i}: idle CPU {idle[i]:.1f}% of one core over {args.idle_seconds}s, RSS {rss[i]:.0f} MiB")
        print(f"SIGKILL broker {victim} (leader of {len(moved)} partitions): all moved in {failover:.2f}s")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
