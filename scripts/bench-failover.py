#!/usr/bin/env python3
"""How long partitions go without an acknowledged send when a broker fails or
is restarted, seen by a real client: a 3-broker cluster (real processes), one
topic of P partitions with RF 3, and a librdkafka producer (confluent-kafka,
acks=all, otherwise its defaults) sending one small message to every
partition every `--interval-ms`. For each partition the script records when
each send was acknowledged; a partition's *window* during an event is the
longest gap between two of its acknowledgements that overlaps the event. A
window includes up to one send interval on top of the outage (the last
acknowledgement before the event can be that old).

Two events, one after the other:

- **SIGKILL** of the broker leading the most partitions (a third of them):
  windows of the partitions it led, and the time until all of them have a new
  leader in another broker's admin API (what `bench-scale.py` measured).
- **Rolling restart**: every broker in turn gets SIGTERM (it hands its
  leaderships over first), is started again, and the next one waits until
  every partition has its full ISR again.

Prints p50/p99/max of the windows, the steady gap before any event (the
baseline: one send interval plus queueing), and the sends that failed (must
be 0: librdkafka retries for 300 s by default).

`--no-fast-failover` starts the brokers with `--fast-failover false` (the
partitions of a dead broker wait for Raft's timers): the baseline.

Usage: scripts/bench-failover.py [--partitions 1000] [--interval-ms 250] [--no-fast-failover] [--cairn PATH]
Uses the benchmark build (`scripts/bench.sh failover` builds it), else the debug one.
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Cluster, default_cairn, get, wait  # noqa: E402

from confluent_kafka import Producer  # noqa: E402


class SteadyLoad:
    """One message to every partition each interval, in a thread; keeps the
    acknowledgement times per partition."""

    def __init__(self, bootstrap, topic, partitions, interval):
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **({"debug": os.environ["RDDEBUG"]} if os.environ.get("RDDEBUG") else {})})
        self.topic, self.partitions, self.interval = topic, partitions, interval
        self.acks = {p: [] for p in range(partitions)}
        self.sent = self.failed = 0
        self.errors = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def delivered(self, err, msg):
        if err is None:
            self.acks[msg.partition()].append(time.monotonic())
        else:
            self.failed += 1
            if len(self.errors) < 5:
                self.errors.append(str(err))

    def run(self):
        tick = time.monotonic()
        while not self.stopping.is_set():
            for p in range(self.partitions):
                self.producer.produce(self.topic, value=b"x" * 100, partition=p,
                                      on_delivery=self.delivered)
            self.sent += self.partitions
            tick += self.interval
            while True:
                left = tick - time.monotonic()
                if left <= 0:
                    break
                self.producer.poll(min(left, 0.05))
        self.unflushed = self.producer.flush(120)

    def windows(self, start, end, partitions=None):
        """Per partition, the longest gap between acknowledgements that
        overlaps [start, end] (a gap still open at `end` counts up to `end`)."""
        out = {}
        for p in partitions if partitions is not None else range(self.partitions):
            times = sorted(self.acks[p])
            longest = 0.0
            for a, b in zip(times, times[1:] + [end]):
                if b >= start and a <= end:
                    longest = max(longest, min(b, end) - a)
            out[p] = longest
        return out


def quantiles(values):
    v = sorted(values)
    if not v:
        return "none"
    q = lambda f: v[min(len(v) - 1, int(f * len(v)))]  # noqa: E731
    return f"p50 {q(0.50):.2f}s  p99 {q(0.99):.2f}s  max {v[-1]:.2f}s  ({len(v)} partitions)"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--partitions", type=int, default=1000)
    ap.add_argument("--interval-ms", type=int, default=250)
    ap.add_argument("--no-fast-failover", action="store_true")
    ap.add_argument("--cairn", default=default_cairn())
    args = ap.parse_args()
    topic = "failover"

    cluster = Cluster(args.cairn, extra_args=["--fast-failover", "false"] if args.no_fast_failover else [])
    admin = cluster.admin
    try:
        cluster.wait_formed()
        view = cluster.create_topic(topic, args.partitions)

        def partitions(observer):
            v = get(admin(observer) + "/v1/cluster")
            return {p["partition"]: p for p in (v or {}).get("partitions", []) if p["topic"] == topic}

        def full_isr(observer):
            ps = partitions(observer)
            return len(ps) == args.partitions and all(
                p["leader"] and len(p["isr"]) == 3 for p in ps.values())

        load = SteadyLoad(cluster.bootstrap(), topic, args.partitions, args.interval_ms / 1000)
        load.thread.start()
        time.sleep(5)
        before = cluster.cpu_ticks()
        time.sleep(5)
        after = cluster.cpu_ticks()
        hz = os.sysconf("SC_CLK_TCK")
        busy = {i: 100.0 * (after[i] - before[i]) / hz / 5 for i in cluster.procs}
        steady_from = time.monotonic() - 5
        baseline = load.windows(steady_from, time.monotonic())

        # SIGKILL of the broker leading the most partitions.
        counts = {}
        for p in view["partitions"]:
            counts[p["leader"]] = counts.get(p["leader"], 0) + 1
        victim = max(counts, key=counts.get)
        led = [p["partition"] for p in view["partitions"] if p["leader"] == victim]
        observer = next(i for i in cluster.procs if i != victim)
        killed_at = time.monotonic()
        cluster.kill(victim)
        wait("new leaders", 120, lambda: all(
            partitions(observer).get(m, {}).get("leader") not in (None, victim) for m in led))
        all_led = time.monotonic() - killed_at
        time.sleep(5)
        kill_windows = load.windows(killed_at, time.monotonic(), led)
        cluster.start(victim)
        wait("the killed broker back in every ISR", 300, lambda: full_isr(observer))
        time.sleep(5)

        # Rolling restart: SIGTERM, start again, wait for full ISRs.
        rolling_from = time.monotonic()
        stops = {}
        for i in sorted(cluster.procs):
            t = time.monotonic()
            cluster.terminate(i)
            stops[i] = time.monotonic() - t
            cluster.start(i)
            other = next(j for j in cluster.procs if j != i)
            wait(f"broker {i} back in every ISR", 300, lambda: full_isr(other))
        time.sleep(5)
        rolling_windows = load.windows(rolling_from, time.monotonic())

        load.stopping.set()
        load.thread.join()
        acked = sum(len(t) for t in load.acks.values())
        print(f"partitions={args.partitions} rf=3 brokers=3, one 100-byte message per partition "
              f"every {args.interval_ms} ms, librdkafka acks=all, "
              f"fast failover {'off' if args.no_fast_failover else 'on'} ({args.cairn})")
        print(f"steady gap between acknowledgements (no event):  {quantiles(baseline.values())}")
        print("  broker CPU meanwhile: " + ", ".join(f"broker {i} {b:.0f}% of a core" for i, b in busy.items()))
        print(f"SIGKILL broker {victim} (leader of {len(led)} partitions): all led again after "
              f"{all_led:.2f}s (admin API of broker {observer})")
        print(f"  windows without an acknowledged send:          {quantiles(kill_windows.values())}")
        print("rolling restart (SIGTERM, restart, full ISR, next), SIGTERM to exit: "
              + ", ".join(f"broker {i} {s:.1f}s" for i, s in stops.items()))
        print(f"  windows without an acknowledged send:          {quantiles(rolling_windows.values())}")
        print(f"sent {load.sent}, acknowledged {acked}, failed {load.failed}, "
              f"unflushed {load.unflushed} {load.errors if load.errors else ''}")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
