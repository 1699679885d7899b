#!/usr/bin/env python3
"""Idempotent producers against a running Cairn cluster (called by
tests/idempotence.rs, which starts the cluster and kills brokers).

1. kafka-python's `KafkaProducer()` with its defaults (idempotence on in 3.x)
   sends 2,000 messages to topic `plain` (3 partitions); every one is read
   back exactly once.
   aiokafka with `enable_idempotence=True` then sends 500 more; the topic
   holds both producers' values, each once.
2. confluent-kafka with `enable.idempotence=true` sends 100,000 messages to
   topic `idem` (1 partition, RF 3). After 20,000 and after 60,000 messages
   have been handed to the producer (with sends still in flight) the script
   prints `pause N` and waits for a line on stdin: the test SIGKILLs the
   partition's leader meanwhile. Every message must be acknowledged, and the
   partition must hold each exactly once, in the order sent.

Usage: idempotence.py BOOTSTRAP   (the topics exist already)
"""
import asyncio
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KpTopicPartition

PLAIN = 2_000
AIO = 500
IDEM = 100_000
PAUSES = (20_000, 60_000)


def say(line):
    print(line, flush=True)


def read_plain(bootstrap, expected):
    """Every value of topic `plain` (3 partitions) from the beginning, until
    `expected` arrived or a minute passed."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=10_000)
    parts = [KpTopicPartition("plain", p) for p in range(3)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    seen = []
    deadline = time.time() + 60
    while len(seen) < expected and time.time() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            seen.extend(r.value.decode() for r in records)
    consumer.close()
    return seen


def kafka_python_defaults(bootstrap):
    producer = KafkaProducer(bootstrap_servers=bootstrap)  # every default
    assert producer.config["enable_idempotence"], "kafka-python default is not idempotent"
    futures = [producer.send("plain", key=str(i % 17).encode(), value=f"p{i}".encode()) for i in range(PLAIN)]
    producer.flush(60)
    acked = [f.get(timeout=60) for f in futures]
    producer.close()
    assert len(acked) == PLAIN
    seen = read_plain(bootstrap, PLAIN)
    assert sorted(seen) == sorted(f"p{i}" for i in range(PLAIN)), \
        f"read {len(seen)} ({len(set(seen))} distinct) of {PLAIN}"
    say(f"kafka-python default producer: {PLAIN} sent, each read once")


async def _aiokafka_send(bootstrap):
    from aiokafka import AIOKafkaProducer
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        futures = [await producer.send("plain", key=str(i % 17).encode(), value=f"a{i}".encode())
                   for i in range(AIO)]
        acked = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    assert len(acked) == AIO


def aiokafka_idempotent(bootstrap):
    """aiokafka with enable_idempotence=True (it asks InitProducerId, then
    sends with sequences) to `plain`, after kafka-python's records: the topic
    then holds both producers' values, each once."""
    asyncio.run(_aiokafka_send(bootstrap))
    seen = read_plain(bootstrap, PLAIN + AIO)
    expected = sorted([f"p{i}" for i in range(PLAIN)] + [f"a{i}" for i in range(AIO)])
    assert sorted(seen) == expected, f"read {len(seen)} ({len(set(seen))} distinct) of {len(expected)}"
    say(f"aiokafka idempotent producer: {AIO} sent, each read once")


def confluent_idempotent_through_kills(bootstrap):
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "enable.idempotence": True,
        "linger.ms": 5,
        "message.timeout.ms": 120_000,
    })
    errors = []
    acked = [0]

    def delivered(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked[0] += 1

    for i in range(IDEM):
        if i in PAUSES:
            producer.poll(0)
            say(f"pause {i}")
            sys.stdin.readline()  # the test killed the leader meanwhile
        while True:
            try:
                producer.produce("idem", value=str(i).encode(), partition=0, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    remaining = producer.flush(180)
    assert remaining == 0 and not errors, f"{remaining} unflushed, errors: {errors[:5]}"
    assert acked[0] == IDEM, acked[0]
    say(f"confluent-kafka idempotent: {IDEM} acknowledged")

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "idem-check",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition("idem", 0, 0)])
    values = []
    deadline = time.time() + 120
    while time.time() < deadline:
        batch = consumer.consume(num_messages=10_000, timeout=2)
        for m in batch:
            assert m.error() is None, m.error()
            values.append(int(m.value()))
        if len(values) >= IDEM and not batch:
            break
    consumer.close()
    duplicates = len(values) - len(set(values))
    assert duplicates == 0, f"{duplicates} duplicates among {len(values)} records"
    assert values == list(range(IDEM)), \
        f"{len(values)} records; first out of order at {next((k for k, v in enumerate(values) if v != k), None)}"
    say(f"partition holds {len(values)} records: each once, in send order")


def main():
    bootstrap = sys.argv[1]
    kafka_python_defaults(bootstrap)
    aiokafka_idempotent(bootstrap)
    confluent_idempotent_through_kills(bootstrap)
    say("idempotence ok")


if __name__ == "__main__":
    main()
