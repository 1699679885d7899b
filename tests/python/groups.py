#!/usr/bin/env python3
"""Consumer groups with real clients, each with its default settings, against
a running Cairn cluster (called by tests/groups.rs, which starts it).

1. confluent-kafka creates a 6-partition RF 3 topic and produces 600 keyed
   messages with acks=all.
2. A confluent-kafka consumer in group "g-confluent" reads every message and
   commits synchronously; a second consumer of the same group then starts and
   gets nothing (the committed offsets are where it resumes), and the
   committed offsets read back through the admin API are the partition ends.
3. Two confluent-kafka members of group "g-split" split the 6 partitions 3+3;
   two static members (group.instance.id) do too, and one restarting gets its
   partitions back without a rebalance.
4. kafka-python (its KafkaConsumer defaults, group "g-kafka-python") reads
   every message and commits; so does aiokafka (group "g-aiokafka").
5. kafka-python told the broker is Kafka 0.8.2 commits and fetches offsets
   of group "g-legacy" with OffsetCommit v1 and OffsetFetch v1, and
   confluent-kafka (OffsetFetch v9) reads the same offsets back.

Prints one line per check; exits non-zero on the first failure.

Usage: groups.py BOOTSTRAP
"""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

MESSAGES = 600
PARTITIONS = 6
TOPIC = "grouped"
DEADLINE = 90


def fail(what):
    print(f"FAIL {what}", flush=True)
    sys.exit(1)


def produce(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)]).values():
        f.result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    acked = []
    for i in range(MESSAGES):
        producer.produce(TOPIC, key=f"k{i % 37}", value=f"m{i}",
                         on_delivery=lambda err, msg: acked.append(err is None))
    producer.flush(60)
    if len(acked) != MESSAGES or not all(acked):
        fail(f"produce: {sum(acked)} of {MESSAGES} acknowledged")
    print(f"produced {MESSAGES}", flush=True)


def consume_all(consumer, expect, what):
    seen = set()
    deadline = time.time() + DEADLINE
    while len(seen) < expect and time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            print(f"{what}: poll error {msg.error()}", flush=True)
            continue
        seen.add(msg.value().decode())
    return seen


def confluent_group(bootstrap):
    config = {"bootstrap.servers": bootstrap, "group.id": "g-confluent",
              "auto.offset.reset": "earliest", "enable.auto.commit": False}
    first = Consumer(config)
    first.subscribe([TOPIC])
    seen = consume_all(first, MESSAGES, "confluent")
    if len(seen) != MESSAGES:
        fail(f"confluent-kafka group read {len(seen)} of {MESSAGES}")
    first.commit(asynchronous=False)
    committed = first.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=30)
    total = sum(tp.offset for tp in committed)
    if total != MESSAGES:
        fail(f"committed offsets sum to {total}, expected {MESSAGES}: {committed}")
    first.close()
    print(f"confluent-kafka group read {len(seen)} and committed {total}", flush=True)

    second = Consumer(config)
    second.subscribe([TOPIC])
    again = set()
    # Ten seconds for the new member to join, be assigned and fetch from the
    # committed offsets: everything below them was read already.
    deadline = time.time() + 10
    while time.time() < deadline and not again:
        msg = second.poll(1.0)
        if msg is not None and not msg.error():
            again.add(msg.value().decode())
    second.close()
    if again:
        fail(f"a resumed member re-read {len(again)} committed messages")
    print("a new member of the group resumed at the committed offsets (nothing re-read)", flush=True)


def split(bootstrap):
    config = {"bootstrap.servers": bootstrap, "group.id": "g-split",
              "auto.offset.reset": "earliest"}
    a, b = Consumer(config), Consumer(config)
    a.subscribe([TOPIC])
    b.subscribe([TOPIC])
    deadline = time.time() + DEADLINE
    sizes = (0, 0)
    while time.time() < deadline:
        a.poll(0.5)
        b.poll(0.5)
        sizes = (len(a.assignment()), len(b.assignment()))
        if sizes == (3, 3):
            break
    a.close()
    b.close()
    if sizes != (3, 3):
        fail(f"two members split the partitions {sizes[0]}+{sizes[1]}, expected 3+3")
    print("two members split the partitions 3+3", flush=True)


def static_rejoin(bootstrap):
    """A static member (group.instance.id) that restarts within its session
    timeout gets its partitions back without a rebalance: the other member is
    never revoked."""
    base = {"bootstrap.servers": bootstrap, "group.id": "g-static",
            "auto.offset.reset": "earliest", "session.timeout.ms": 30000}
    revoked = []
    a = Consumer({**base, "group.instance.id": "member-a"})
    b = Consumer({**base, "group.instance.id": "member-b"})
    a.subscribe([TOPIC])
    b.subscribe([TOPIC], on_revoke=lambda c, parts: revoked.append(len(parts)))
    deadline = time.time() + DEADLINE
    while time.time() < deadline and (len(a.assignment()), len(b.assignment())) != (3, 3):
        a.poll(0.5)
        b.poll(0.5)
    before_a = sorted(tp.partition for tp in a.assignment())
    before_b = sorted(tp.partition for tp in b.assignment())
    if (len(before_a), len(before_b)) != (3, 3):
        fail(f"static members split {len(before_a)}+{len(before_b)}, expected 3+3")
    revoked.clear()
    a.close()  # a static member does not leave the group on close
    a = Consumer({**base, "group.instance.id": "member-a"})
    a.subscribe([TOPIC])
    deadline = time.time() + DEADLINE
    while time.time() < deadline and len(a.assignment()) != 3:
        a.poll(0.5)
        b.poll(0.5)
    after_a = sorted(tp.partition for tp in a.assignment())
    for _ in range(6):  # a few more seconds for a rebalance to show, if any
        b.poll(0.5)
    after_b = sorted(tp.partition for tp in b.assignment())
    revoked_while_running = list(revoked)  # b's close() revokes too
    a.close()
    b.close()
    if after_a != before_a or after_b != before_b or any(revoked_while_running):
        fail(f"static rejoin rebalanced: a {before_a}->{after_a}, b {before_b}->{after_b}, "
             f"b revoked {revoked_while_running}")
    print("a static member rejoined with its partitions, without a rebalance", flush=True)


def kafka_python_group(bootstrap):
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id="g-kafka-python",
                             auto_offset_reset="earliest", consumer_timeout_ms=DEADLINE * 1000)
    seen = set()
    for msg in consumer:
        seen.add(msg.value.decode())
        if len(seen) == MESSAGES:
            break
    consumer.commit()
    consumer.close()
    if len(seen) != MESSAGES:
        fail(f"kafka-python group read {len(seen)} of {MESSAGES}")
    print(f"kafka-python group read {len(seen)}", flush=True)


def aiokafka_group(bootstrap):
    import asyncio
    from aiokafka import AIOKafkaConsumer

    async def run():
        consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id="g-aiokafka",
                                    auto_offset_reset="earliest")
        await consumer.start()
        seen = set()
        try:
            deadline = time.time() + DEADLINE
            while len(seen) < MESSAGES and time.time() < deadline:
                batch = await consumer.getmany(timeout_ms=1000)
                for messages in batch.values():
                    seen.update(m.value.decode() for m in messages)
            await consumer.commit()
        finally:
            await consumer.stop()
        return seen

    seen = asyncio.run(run())
    if len(seen) != MESSAGES:
        fail(f"aiokafka group read {len(seen)} of {MESSAGES}")
    print(f"aiokafka group read {len(seen)}", flush=True)


def legacy_offsets(bootstrap):
    from kafka import KafkaConsumer, TopicPartition as KafkaPartition
    from kafka.structs import OffsetAndMetadata
    # No group membership before 0.9: the consumer assigns itself partitions.
    old = KafkaConsumer(bootstrap_servers=bootstrap, group_id="g-legacy",
                        api_version=(0, 8, 2), enable_auto_commit=False)
    partitions = [KafkaPartition(TOPIC, p) for p in range(PARTITIONS)]
    old.assign(partitions)
    old.commit({tp: OffsetAndMetadata(10 + tp.partition, "0.8.2", -1) for tp in partitions})
    read_back = [old.committed(tp) for tp in partitions]
    old.close()
    expected = [10 + p for p in range(PARTITIONS)]
    if read_back != expected:
        fail(f"OffsetFetch v1 read {read_back} after OffsetCommit v1 of {expected}")
    new = Consumer({"bootstrap.servers": bootstrap, "group.id": "g-legacy"})
    committed = new.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=30)
    new.close()
    if [tp.offset for tp in committed] != expected:
        fail(f"confluent-kafka read {[tp.offset for tp in committed]}, 0.8.2 committed {expected}")
    print("offsets committed as Kafka 0.8.2 (v1) read back by v1 and v9 fetches", flush=True)


def main():
    bootstrap = sys.argv[1]
    produce(bootstrap)
    confluent_group(bootstrap)
    split(bootstrap)
    static_rejoin(bootstrap)
    kafka_python_group(bootstrap)
    aiokafka_group(bootstrap)
    legacy_offsets(bootstrap)
    print("groups ok", flush=True)


if __name__ == "__main__":
    main()
