#!/usr/bin/env python3
"""Kafka client compatibility against a running Cairn cluster (called by
tests/python_clients.rs, which starts the cluster).

confluent-kafka (librdkafka) creates a topic through the Kafka admin API and
produces 10,000 keyed messages with acks=all and zstd; kafka-python reads
every one back and the script checks: every acknowledged message is read,
offsets are dense per partition, order is kept per key, and each key is in
the partition murmur2 gives (the Java client's mapping). Then configs are
described, partitions added, and the topic deleted through the admin API.

Usage: compat.py BOOTSTRAP
"""
import sys
import time
from collections import defaultdict

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

MESSAGES = 10_000
PARTITIONS = 6


def main():
    bootstrap = sys.argv[1]
    topic = "keyed"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for name, future in admin.create_topics([NewTopic(topic, PARTITIONS, 3)], request_timeout=30).items():
        future.result()
        print(f"created {name}")
    # Creating it again fails with TOPIC_ALREADY_EXISTS.
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result()
        sys.exit("second create did not fail")
    except Exception as e:  # KafkaException
        assert "TOPIC_ALREADY_EXISTS" in str(e) or "already exists" in str(e), e

    producer = Producer({
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "compression.type": "zstd",
        "partitioner": "murmur2_random",
        "linger.ms": 5,
    })
    acked = {}
    errors = []

    def delivered(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked[msg.value().decode()] = (msg.partition(), msg.offset(), msg.key().decode())

    deadline = time.time() + 60
    for i in range(MESSAGES):
        while True:
            try:
                producer.produce(topic, key=f"truck-{i % 97}", value=str(i), on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(60)
    assert remaining == 0 and not errors, f"{remaining} unflushed, errors: {errors[:5]}"
    assert len(acked) == MESSAGES, len(acked)
    print(f"produced {len(acked)} messages, acks=all, zstd")

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    seen = {}
    by_partition = defaultdict(list)
    while len(seen) < MESSAGES and time.time() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            for r in records:
                value = r.value.decode()
                assert value not in seen, f"duplicate {value}"
                seen[value] = (r.partition, r.offset, r.key.decode())
                by_partition[r.partition].append((r.offset, r.key.decode(), int(value)))
    consumer.close()
    missing = set(acked) - set(seen)
    assert not missing, f"{len(missing)} acknowledged messages not read, e.g. {sorted(missing)[:5]}"
    for value, where in acked.items():
        assert seen[value] == where, f"{value}: acked at {where}, read at {seen[value]}"
    for p, rows in by_partition.items():
        offsets = [o for o, _, _ in rows]
        assert offsets == list(range(len(rows))), f"partition {p}: offsets not dense"
        last = {}
        for _, key, value in rows:
            assert (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS == p, f"{key} in partition {p}"
            assert last.get(key, -1) < value, f"{key}: {value} after {last[key]} in partition {p}"
            last[key] = value
    print(f"read back {len(seen)} messages: dense offsets, per-key order, murmur2 placement")

    configs = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
    for resource, future in configs.items():
        entries = future.result()
        assert entries["retention.ms"].value == "604800000", entries["retention.ms"].value
        assert entries["cleanup.policy"].value == "delete"
    print("describe configs: retention.ms=604800000")

    for name, future in admin.create_partitions([NewPartitions(topic, PARTITIONS + 2)], request_timeout=30).items():
        future.result()
    deadline = time.time() + 30
    while len(admin.list_topics(topic, timeout=10).topics[topic].partitions) != PARTITIONS + 2:
        assert time.time() < deadline, "added partitions not visible"
        time.sleep(0.2)
    try:
        admin.create_partitions([NewPartitions(topic, 2)])[topic].result()
        sys.exit("shrinking partitions did not fail")
    except Exception as e:
        assert "INVALID_PARTITIONS" in str(e) or "only grow" in str(e), e
    print(f"create partitions: {PARTITIONS} -> {PARTITIONS + 2}")

    for name, future in admin.delete_topics([topic], request_timeout=30).items():
        future.result()
    assert topic not in admin.list_topics(timeout=10).topics
    print("deleted topic")


if __name__ == "__main__":
    main()
