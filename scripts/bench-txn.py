#!/usr/bin/env python3
"""What transactions cost: confluent-kafka (librdkafka) producers sending
1 KiB records with acks=all, plainly and in transactions of 10 and of 100
records (begin, produce, commit), in alternating rounds against one local
3-broker cluster (real processes), each round on a new topic. Counts records
acknowledged (plain) or committed (transactions) per second, and the commit
latency; prints every round, the medians and the ratios against plain
acks=all measured in the same run (the shared machine's noise hits all
alike).

Usage: scripts/bench-txn.py [--rounds 2] [--duration 15] [--producers 4] [--cairn PATH]
"""
import argparse
import os
import statistics
import sys
import threading
import time

from confluent_kafka import Producer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Cluster, default_cairn  # noqa: E402

VALUE = b"x" * 1024


def run(bootstrap, topic, partitions, per_txn, duration, producers):
    """Records per second over `duration` s from `producers` threads; and
    the median and p99 commit latency (ms) for transactions."""
    done = [0] * producers
    commits = []
    stop = time.time() + duration
    lock = threading.Lock()

    def plain(i):
        p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5})
        acked = [0]

        def delivered(err, _msg):
            if err is None:
                acked[0] += 1
        n = 0
        while time.time() < stop:
            try:
                p.produce(topic, VALUE, partition=n % partitions, on_delivery=delivered)
                n += 1
            except BufferError:
                p.poll(0.01)
            p.poll(0)
        p.flush(30)
        done[i] = acked[0]

    def transactional(i):
        p = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"bench-{topic}-{i}",
                      "linger.ms": 5})
        p.init_transactions(30)
        n = 0
        while time.time() < stop:
            p.begin_transaction()
            for _ in range(per_txn):
                while True:
                    try:
                        p.produce(topic, VALUE, partition=n % partitions)
                        break
                    except BufferError:
                        p.poll(0.01)
                n += 1
            started = time.time()
            p.commit_transaction(30)
            with lock:
                commits.append((time.time() - started) * 1000)
            done[i] += per_txn

    work = transactional if per_txn else plain
    threads = [threading.Thread(target=work, args=(i,)) for i in range(producers)]
    began = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.time() - began
    commits.sort()
    p50 = statistics.median(commits) if commits else 0.0
    p99 = commits[min(len(commits) - 1, int(len(commits) * 0.99))] if commits else 0.0
    return sum(done) / elapsed, p50, p99


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--producers", type=int, default=4)
    ap.add_argument("--cairn", default=default_cairn())
    args = ap.parse_args()
    modes = [("plain acks=all", 0), ("txn x10", 10), ("txn x100", 100)]
    results = {name: [] for name, _ in modes}
    cluster = Cluster(args.cairn)
    try:
        cluster.wait_formed()
        bootstrap = cluster.bootstrap()
        print(f"cairn: {args.cairn}; 3 brokers; confluent-kafka, 1 KiB records, {args.producers} "
              f"producers, linger.ms=5, {args.partitions} partitions RF 3, {args.duration:.0f} s "
              f"per round", flush=True)
        for r in range(args.rounds):
            for name, per_txn in modes:
                topic = f"txn-bench-{r}-{per_txn}"
                cluster.create_topic(topic, args.partitions)
                rate, p50, p99 = run(bootstrap, topic, args.partitions, per_txn, args.duration,
                                     args.producers)
                results[name].append(rate)
                commit = f", commit p50 {p50:.1f} ms p99 {p99:.1f} ms" if per_txn else ""
                print(f"round {r + 1} {name:<15} {rate:>9,.0f} msg/s{commit}", flush=True)
    finally:
        cluster.stop()
    base = statistics.median(results["plain acks=all"])
    for name, _ in modes:
        m = statistics.median(results[name])
        print(f"median {name:<15} {m:>9,.0f} msg/s  ratio to plain {m / base:.2f}")


if __name__ == "__main__":
    main()
