#!/usr/bin/env python3
"""A steady acks=all producer for tests/rolling_restart.rs: confluent-kafka
(librdkafka) with its default settings except acks=all, sending one message
every 5 ms to topic TOPIC (over its partitions: librdkafka's default
partitioner spreads unkeyed messages) until a line arrives on stdin, then
flushing. Prints one JSON line: messages acknowledged and failed, and for
each partition the longest gap between two of its acknowledgements (ms):
how long that partition was unavailable to the producer.

Usage: steady_producer.py BOOTSTRAP TOPIC
"""
import json
import select
import sys
import time

from confluent_kafka import Producer

bootstrap, topic = sys.argv[1], sys.argv[2]
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
acked, failed, errors = {}, 0, []


def delivered(err, msg):
    global failed
    if err is None:
        acked.setdefault(msg.partition(), []).append(time.monotonic())
    else:
        failed += 1
        if len(errors) < 5:
            errors.append(str(err))


sent = 0
while not select.select([sys.stdin], [], [], 0)[0]:
    producer.produce(topic, value=b"m%d" % sent, on_delivery=delivered)
    sent += 1
    producer.poll(0.005)
left = producer.flush(60)
longest = {}
for partition, times in sorted(acked.items()):
    times.sort()
    gaps = [b - a for a, b in zip(times, times[1:])]
    longest[str(partition)] = round(max(gaps, default=0) * 1000)
print(json.dumps({
    "sent": sent,
    "acked": sum(len(t) for t in acked.values()),
    "failed": failed,
    "unflushed": left,
    "errors": errors,
    "longest_gap_ms_by_partition": longest,
}))
