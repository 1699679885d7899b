#!/usr/bin/env python3
"""The consumer group protocol of KIP-848 (`group.protocol=consumer`) with
confluent-kafka against a running Cairn cluster (called by
tests/consumer_protocol.rs, which starts it).

1. A 6-partition RF 3 topic gets 200 keyed messages (acks=all).
2. Member A joins group "g-kip848" and gets all 6 partitions; member B joins
   and they split 3+3, A giving up exactly the 3 partitions B gets and
   keeping the others throughout (incremental: no stop-the-world revoke).
3. 200 more messages; member C joins: A and B each give up exactly one
   partition, keep the other two, and C gets the two they gave up.
4. 200 more messages; A leaves cleanly and B and C take over its partitions
   at its committed offsets; then B and C leave.
5. Across the group every record was read exactly once; the committed
   offsets are the partition ends, and a new member resumes there (reads
   nothing).

Each member commits synchronously what it read from a partition when the
partition is revoked, and everything before it leaves.

Prints one line per check; exits non-zero on the first failure.

Usage: consumer_protocol.py BOOTSTRAP [NAME_SUFFIX]
(the suffix, for runs against a cluster that has the topic already, goes
after the topic and group names)
"""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TOPIC = "kip848"
GROUP = "g-kip848"
PARTITIONS = 6
BATCH = 200
DEADLINE = 90


def fail(what):
    print(f"FAIL {what}", flush=True)
    sys.exit(1)


class Member:
    """A consumer of the group that records what it reads, commits what it
    read from a partition when the partition is revoked, and remembers every
    revocation it went through."""

    def __init__(self, bootstrap, name, reads):
        self.name = name
        self.reads = reads  # shared: (partition, offset) -> reader name
        self.next_offsets = {}  # partition -> offset after the last read
        self.revoked = []  # lists of partitions, one per revocation
        self.duplicates = []
        self.consumer = Consumer({
            "bootstrap.servers": bootstrap,
            "group.id": GROUP,
            "group.protocol": "consumer",
            "client.id": name,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })
        self.consumer.subscribe([TOPIC], on_revoke=self.on_revoke)

    def on_revoke(self, consumer, partitions):
        self.revoked.append(sorted(tp.partition for tp in partitions))
        self.commit([tp.partition for tp in partitions])

    def commit(self, partitions):
        offsets = [TopicPartition(TOPIC, p, self.next_offsets[p])
                   for p in partitions if p in self.next_offsets]
        if offsets:
            self.consumer.commit(offsets=offsets, asynchronous=False)

    def poll(self, timeout=0.2):
        msg = self.consumer.poll(timeout)
        if msg is None:
            return
        if msg.error():
            print(f"{self.name}: poll error {msg.error()}", flush=True)
            return
        key = (msg.partition(), msg.offset())
        if key in self.reads:
            self.duplicates.append((key, self.reads[key]))
        self.reads[key] = self.name
        self.next_offsets[msg.partition()] = msg.offset() + 1

    def assignment(self):
        return sorted(tp.partition for tp in self.consumer.assignment())

    def leave(self):
        self.commit(self.assignment())
        self.consumer.close()


def produce(bootstrap, producer, start):
    acked = []
    for i in range(start, start + BATCH):
        producer.produce(TOPIC, key=f"k{i % 37}", value=f"m{i}",
                         on_delivery=lambda err, msg: acked.append(err is None))
    producer.flush(60)
    if len(acked) != BATCH or not all(acked):
        fail(f"produce: {sum(acked)} of {BATCH} acknowledged")


def poll_until(members, done, what):
    deadline = time.time() + DEADLINE
    while time.time() < deadline:
        for m in members:
            m.poll()
        if done():
            return
    fail(f"{what}: assignments {[(m.name, m.assignment()) for m in members]}")


def describe(bootstrap, members):
    """The admin API (ConsumerGroupDescribe) shows the group as the members
    see it: a consumer-protocol group, Stable, each member's partitions."""
    from confluent_kafka import ConsumerGroupState, ConsumerGroupType
    admin = AdminClient({"bootstrap.servers": bootstrap})
    described = admin.describe_consumer_groups([GROUP])[GROUP].result(timeout=30)
    if described.type != ConsumerGroupType.CONSUMER or described.state != ConsumerGroupState.STABLE:
        fail(f"described as {described.type} {described.state}")
    seen = {m.client_id: sorted(tp.partition for tp in m.assignment.topic_partitions)
            for m in described.members}
    expected = {m.name: m.assignment() for m in members}
    if seen != expected or described.partition_assignor != "uniform":
        fail(f"described members {seen} with {described.partition_assignor}, expected {expected}")
    print(f"ConsumerGroupDescribe: {described.state.name}, assignor "
          f"{described.partition_assignor}, members {seen}", flush=True)


def all_read(reads, total):
    return lambda: len(reads) >= total


def main():
    global TOPIC, GROUP
    bootstrap = sys.argv[1]
    if len(sys.argv) > 2:
        TOPIC, GROUP = TOPIC + sys.argv[2], GROUP + sys.argv[2]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)]).values():
        f.result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    produce(bootstrap, producer, 0)
    print(f"produced {BATCH}", flush=True)
    reads = {}

    a = Member(bootstrap, "member-a", reads)
    poll_until([a], lambda: len(a.assignment()) == PARTITIONS, "A gets every partition")
    print("A joined and got all 6 partitions", flush=True)

    b = Member(bootstrap, "member-b", reads)
    poll_until([a, b], lambda: (len(a.assignment()), len(b.assignment())) == (3, 3),
               "A and B split 3+3")
    if a.revoked != [b.assignment()]:
        fail(f"A revoked {a.revoked}, B got {b.assignment()}: not exactly B's partitions")
    if set(a.assignment()) & set(b.assignment()):
        fail(f"A {a.assignment()} and B {b.assignment()} overlap")
    print(f"A and B split 3+3 ({a.assignment()} / {b.assignment()}); "
          f"A revoked only {a.revoked[0]}", flush=True)
    poll_until([a, b], all_read(reads, BATCH), "A and B read the first batch")

    produce(bootstrap, producer, BATCH)
    a_before, b_before = a.assignment(), b.assignment()
    a.revoked.clear()
    b.revoked.clear()
    c = Member(bootstrap, "member-c", reads)
    poll_until([a, b, c],
               lambda: [len(m.assignment()) for m in (a, b, c)] == [2, 2, 2],
               "A, B and C split 2+2+2")
    for m, before in ((a, a_before), (b, b_before)):
        moved = sorted(set(before) - set(m.assignment()))
        if len(moved) != 1 or m.revoked != [moved] or not set(m.assignment()) <= set(before):
            fail(f"{m.name} went from {before} to {m.assignment()} revoking {m.revoked}")
    if sorted(a.assignment() + b.assignment() + c.assignment()) != list(range(PARTITIONS)):
        fail(f"2+2+2 does not cover the partitions once: "
             f"{a.assignment()} {b.assignment()} {c.assignment()}")
    print(f"C joined; A and B each gave up one partition and kept two "
          f"(A {a_before}->{a.assignment()}, B {b_before}->{b.assignment()}, "
          f"C {c.assignment()})", flush=True)
    poll_until([a, b, c], all_read(reads, 2 * BATCH), "A, B and C read the second batch")
    describe(bootstrap, (a, b, c))

    produce(bootstrap, producer, 2 * BATCH)
    a.leave()
    poll_until([b, c], lambda: (len(b.assignment()), len(c.assignment())) == (3, 3),
               "B and C take over A's partitions")
    poll_until([b, c], all_read(reads, 3 * BATCH), "B and C read the third batch")
    print(f"A left; B and C took over its partitions "
          f"(B {b.assignment()}, C {c.assignment()})", flush=True)
    b.leave()
    c.leave()

    total = 3 * BATCH
    duplicates = a.duplicates + b.duplicates + c.duplicates
    if duplicates:
        fail(f"{len(duplicates)} records read twice, e.g. {duplicates[:5]}")
    if len(reads) != total:
        fail(f"the group read {len(reads)} records, expected {total}")
    by_member = {name: sum(1 for r in reads.values() if r == name)
                 for name in ("member-a", "member-b", "member-c")}
    print(f"every record read exactly once across the group: {by_member}", flush=True)

    check = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                      "group.protocol": "consumer", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False})
    committed = check.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=30)
    if sum(tp.offset for tp in committed) != total:
        fail(f"committed offsets {[(tp.partition, tp.offset) for tp in committed]} "
             f"do not sum to {total}")
    check.subscribe([TOPIC])
    # Ten seconds to join, be assigned every partition and fetch from the
    # committed offsets: everything below them was read already.
    deadline = time.time() + 10
    again = 0
    while time.time() < deadline:
        msg = check.poll(0.5)
        if msg is not None and not msg.error():
            again += 1
    assigned = len(check.assignment())
    check.close()
    if assigned != PARTITIONS or again:
        fail(f"a new member got {assigned} partitions and re-read {again} records")
    print("a new member resumed at the committed offsets (nothing re-read)", flush=True)
    print("consumer protocol ok", flush=True)


if __name__ == "__main__":
    main()
