#!/usr/bin/env python3
"""Produce throughput of a running Cairn cluster with confluent-kafka (librdkafka):
sends N messages of S bytes to a fresh topic (P partitions, RF R) at each acks
level and prints messages/s and MB/s per level, measured from the first send
to the last delivery report, in the same run so the ratio is meaningful.

Usage: scripts/produce-throughput.py [--bootstrap 127.0.0.1:9092] [--messages 50000]
       [--size 1024] [--partitions 3] [--replication-factor 3] [--acks all,1]
Start a cluster first, e.g. `scripts/dev.sh` (3 brokers).
"""
import argparse
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic


def run(bootstrap, topic, acks, messages, size):
    producer = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5,
                         "batch.size": 1 << 20, "queue.buffering.max.messages": 1_000_000})
    payload = b"x" * size
    done = [0, 0]

    def report(err, _msg):
        done[0 if err is None else 1] += 1

    start = time.perf_counter()
    for _ in range(messages):
        while True:
            try:
                producer.produce(topic, payload, on_delivery=report)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(120)
    elapsed = time.perf_counter() - start
    return done[0], done[1], elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--partitions", type=int, default=3)
    ap.add_argument("--replication-factor", type=int, default=3)
    ap.add_argument("--acks", default="all,1")
    args = ap.parse_args()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    print(f"{args.messages} messages of {args.size} B, {args.partitions} partitions, RF {args.replication_factor}")
    for acks in args.acks.split(","):
        topic = f"throughput-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(topic, args.partitions, args.replication_factor)])[topic].result()
        time.sleep(3)  # let every partition elect its leader
        ok, failed, elapsed = run(args.bootstrap, topic, acks, args.messages, args.size)
        rate = ok / elapsed
        print(f"acks={acks:>3}: {rate:10.0f} msg/s  {rate * args.size / 1e6:7.2f} MB/s  ({ok} ok, {failed} failed, {elapsed:.2f}s)")
        admin.delete_topics([topic])[topic].result()


if __name__ == "__main__":
    main()
