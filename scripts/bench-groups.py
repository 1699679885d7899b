#!/usr/bin/env python3
"""Consumer groups on a local 3-broker cluster (real processes), with
confluent-kafka (librdkafka) clients at their defaults:

- backlog: a topic of P partitions (RF 3) filled with --backlog-mib of
  --message-size records, read to the end once by one consumer that assigns
  every partition itself (no group) and once by a group of --members
  consumers (one process each). Rates count from the first record any
  reader received to the last, so the group's join (3 s of
  group.initial.rebalance.delay.ms) is reported apart.
- commit latency: one group member commits asynchronously at --commit-rate
  commits/s for --commit-seconds; latency is from commit() to its callback
  (an OffsetCommit is answered once its Raft entry is applied).
- rebalance: a Stable group of three members, one closes (LeaveGroup); the
  time until both others have their new assignment.
- idle cost: broker CPU with --idle-groups idle groups of three members
  (each heartbeat is a Raft entry) against the same cluster with none.

Usage: scripts/bench-groups.py [--backlog-mib 1024] [--cairn PATH]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Cluster, default_cairn  # noqa: E402


def member(args):
    """One group member (a child process): reads, prints JSON events."""
    from confluent_kafka import Consumer

    def emit(**event):
        print(json.dumps({"t": time.time(), **event}), flush=True)

    conf = {"bootstrap.servers": args.bootstrap, "group.id": args.group,
            "auto.offset.reset": "earliest"}
    consumer = Consumer(conf)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    consumer.subscribe([args.topic],
                       on_assign=lambda c, ps: emit(assigned=sorted(p.partition for p in ps)),
                       on_revoke=lambda c, ps: emit(revoked=sorted(p.partition for p in ps)))
    count, first = 0, None
    while not stop:
        msgs = consumer.consume(num_messages=10000, timeout=0.2)
        got = sum(1 for m in msgs if m.error() is None)
        if got:
            first = first or time.time()
            count += got
            emit(count=count, first=first)
    consumer.close()
    emit(closed=True)


class Member:
    def __init__(self, bootstrap, group, topic):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "member", "--bootstrap", bootstrap, "--group", group,
             "--topic", topic], stdout=subprocess.PIPE)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.events = []
        self.buf = ""

    def read(self):
        while True:
            try:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            self.buf += chunk.decode()
        *lines, self.buf = self.buf.split("\n")
        self.events.extend(json.loads(line) for line in lines if line)
        return self.events

    def last(self, key):
        return next((e for e in reversed(self.read()) if key in e), None)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.read()


def fill(bootstrap, topic, count, size):
    from confluent_kafka import Producer
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.size": 1 << 20})
    payload = b"x" * size
    t0 = time.time()
    for i in range(count):
        while True:
            try:
                producer.produce(topic, payload, partition=i % PARTITIONS)
                break
            except BufferError:
                producer.poll(0.05)
        if i % 10000 == 0:
            producer.poll(0)
    left = producer.flush(120)
    if left:
        sys.exit(f"{left} records not acknowledged")
    return time.time() - t0


def read_alone(bootstrap, topic, count):
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-manual",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
    got, t0, first = 0, time.time(), None
    while got < count:
        msgs = consumer.consume(num_messages=10000, timeout=1)
        n = sum(1 for m in msgs if m.error() is None)
        if n and first is None:
            first = time.time()
        got += n
        if time.time() - t0 > 900:
            sys.exit(f"manual consumer read {got} of {count} in 900 s")
    end = time.time()
    consumer.close()
    return first - t0, end - first


def read_group(bootstrap, topic, count, members):
    group = f"bench-backlog-{int(time.time())}"
    t0 = time.time()
    ms = [Member(bootstrap, group, topic) for _ in range(members)]
    try:
        while True:
            lasts = [m.last("count") for m in ms]
            total = sum(e["count"] for e in lasts if e)
            if total >= count:
                break
            if time.time() - t0 > 900:
                sys.exit(f"group read {total} of {count} in 900 s")
            time.sleep(0.05)
        firsts = [e["first"] for e in lasts if e]
        end = max(e["t"] for e in lasts if e)
        shares = [e["count"] if e else 0 for e in lasts]
        return min(firsts) - t0, end - min(firsts), shares
    finally:
        for m in ms:
            m.stop()


def commit_latency(bootstrap, topic, rate, seconds):
    from confluent_kafka import Consumer, TopicPartition
    sent, latencies, errors = {}, [], []

    def on_commit(err, partitions):
        now = time.time()
        if err is not None:
            errors.append(str(err))
            return
        for p in partitions:
            if p.offset in sent:
                latencies.append(now - sent.pop(p.offset))

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-commit-{int(time.time())}",
                         "enable.auto.commit": False, "on_commit": on_commit})
    consumer.subscribe([topic])
    deadline = time.time() + 60
    while not consumer.assignment():
        consumer.poll(0.1)
        if time.time() > deadline:
            sys.exit("the commit benchmark's consumer got no assignment in 60 s")
    partition = consumer.assignment()[0].partition
    start = time.time()
    offset = 0
    while time.time() - start < seconds:
        due = start + offset / rate
        while time.time() < due:
            consumer.poll(max(0.0, min(0.001, due - time.time())))
        offset += 1
        sent[offset] = time.time()
        consumer.commit(offsets=[TopicPartition(topic, partition, offset)], asynchronous=True)
        consumer.poll(0)
    drain = time.time() + 30
    while sent and time.time() < drain:
        consumer.poll(0.05)
    consumer.close()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    return {"commits": offset, "acknowledged": len(latencies), "errors": len(errors),
            "unanswered": len(sent), "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "max_ms": latencies[-1] * 1000, "rate": offset / seconds}


def rebalance_after_leave(bootstrap, topic):
    group = f"bench-rebalance-{int(time.time())}"
    ms = [Member(bootstrap, group, topic) for _ in range(3)]
    try:
        deadline = time.time() + 90

        def stable():
            assigned = [m.last("assigned") for m in ms]
            return all(assigned) and sum(len(a["assigned"]) for a in assigned) == PARTITIONS
        while not stable():
            if time.time() > deadline:
                sys.exit("the 3-member group did not become stable in 90 s")
            time.sleep(0.05)
        time.sleep(2)
        leaver, stayers = ms[2], ms[:2]
        before = [len(m.read()) for m in stayers]
        t0 = time.time()
        leaver.stop()
        while True:
            new = [m.events[n:] for m, n in zip(stayers, before)]
            done = [next((e for e in evs if "assigned" in e), None) for evs in new]
            if all(done) and sum(len(d["assigned"]) for d in done) == PARTITIONS:
                return max(d["t"] for d in done) - t0
            if time.time() - t0 > 120:
                sys.exit("the group did not rebalance within 120 s of a member leaving")
            for m in stayers:
                m.read()
            time.sleep(0.02)
    finally:
        for m in ms:
            m.stop()


def idle_cost(cluster, topic, groups, seconds):
    hz = os.sysconf("SC_CLK_TCK")

    def cpu():
        before = cluster.cpu_ticks()
        time.sleep(seconds)
        after = cluster.cpu_ticks()
        return sum(after[i] - before[i] for i in after) / hz / seconds * 100

    none = cpu()
    ms = [Member(cluster.bootstrap(), f"bench-idle-{g}", topic) for g in range(groups) for _ in range(3)]
    try:
        deadline = time.time() + 120
        while not all(m.last("assigned") for m in ms):
            if time.time() > deadline:
                sys.exit("idle groups did not form in 120 s")
            time.sleep(0.1)
        time.sleep(5)
        with_groups = cpu()
    finally:
        for m in ms:
            m.stop()
    return none, with_groups


PARTITIONS = 3


def main():
    global PARTITIONS
    if len(sys.argv) > 1 and sys.argv[1] == "member":
        ap = argparse.ArgumentParser()
        ap.add_argument("member")
        for flag in ("--bootstrap", "--group", "--topic"):
            ap.add_argument(flag, required=True)
        return member(ap.parse_args())

    ap = argparse.ArgumentParser()
    ap.add_argument("--backlog-mib", type=int, default=1024)
    ap.add_argument("--message-size", type=int, default=1024)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--members", type=int, default=3)
    ap.add_argument("--commit-rate", type=int, default=1000)
    ap.add_argument("--commit-seconds", type=int, default=20)
    ap.add_argument("--idle-groups", type=int, default=10)
    ap.add_argument("--idle-seconds", type=int, default=20)
    ap.add_argument("--cairn", default=default_cairn())
    args = ap.parse_args()
    PARTITIONS = args.partitions
    count = args.backlog_mib * (1 << 20) // args.message_size

    cluster = Cluster(args.cairn)
    try:
        cluster.wait_formed()
        cluster.create_topic("backlog", PARTITIONS)
        cluster.create_topic("quiet", PARTITIONS)  # nothing to read: commits, rebalances, idle groups
        bootstrap = cluster.bootstrap()
        print(f"cairn: {args.cairn}; 3 brokers, topic backlog: {PARTITIONS} partitions RF 3", flush=True)
        took = fill(bootstrap, "backlog", count, args.message_size)
        print(f"fill: {count} x {args.message_size} B in {took:.1f}s ({count / took:,.0f} msg/s)", flush=True)

        wait_alone, alone = read_alone(bootstrap, "backlog", count)
        wait_group, together, shares = read_group(bootstrap, "backlog", count, args.members)
        mib = count * args.message_size / (1 << 20)
        print(f"backlog, one consumer assigning every partition: {count / alone:,.0f} msg/s "
              f"({mib / alone:.0f} MiB/s; first record after {wait_alone:.2f}s)")
        print(f"backlog, group of {args.members}: {count / together:,.0f} msg/s ({mib / together:.0f} MiB/s; "
              f"first record after {wait_group:.2f}s, records per member {shares}); "
              f"ratio group/alone {alone / together:.2f}", flush=True)

        c = commit_latency(bootstrap, "quiet", args.commit_rate, args.commit_seconds)
        print(f"commit latency at {c['rate']:.0f} commits/s for {args.commit_seconds}s: p50 {c['p50_ms']:.1f} ms, "
              f"p99 {c['p99_ms']:.1f} ms, max {c['max_ms']:.1f} ms ({c['acknowledged']} acknowledged, "
              f"{c['errors']} errors, {c['unanswered']} unanswered)", flush=True)

        took = rebalance_after_leave(bootstrap, "quiet")
        print(f"rebalance of a 3-member group after one leaves: {took:.2f}s until both others hold every partition",
              flush=True)

        none, busy = idle_cost(cluster, "quiet", args.idle_groups, args.idle_seconds)
        print(f"idle cost: brokers' CPU {none:.1f}% of one core with no group, {busy:.1f}% with {args.idle_groups} "
              f"idle groups of 3 (heartbeats are Raft entries)")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
