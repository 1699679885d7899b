#!/usr/bin/env python3
"""Manual replica assignments with the clients' admin APIs against a running
3-broker Cairn cluster (called by tests/kafka_defaults.rs).

1. confluent-kafka `create_topics` with `replica_assignment` [[3, 1], [1, 2],
   [2, 3]]: the topic gets exactly those replicas, first broker first.
2. `create_partitions` to 5 with `replica_assignment` [[2, 1], [3, 2]]: the
   new partitions get those replicas.
3. Refusals, each a Kafka error naming the problem: a broker that does not
   exist, a broker twice in one partition, replica lists of different
   lengths, a count and an assignment at once, the wrong number of lists for
   the new partitions, new partitions with another replication factor.
4. kafka-python's `KafkaAdminClient.create_topics` with `assignments`
   {0: [1, 2, 3]}, and with a count and an assignment at once (refused).

Prints one line per check; exits non-zero on the first failure.

Usage: assignments.py BOOTSTRAP
"""
import sys
import time

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic
from kafka.admin import KafkaAdminClient


def say(line):
    print(line, flush=True)


def replicas(admin, topic, count):
    """The topic's replicas by partition, once it has `count` partitions."""
    deadline = time.time() + 30
    while True:
        md = admin.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == count:
            return [list(t.partitions[p].replicas) for p in range(count)]
        if time.time() > deadline:
            raise SystemExit(f"{topic} never showed {count} partitions: {t}")
        time.sleep(0.3)


def refused(future, code_name, what):
    try:
        future.result()
    except KafkaException as e:
        err = e.args[0]
        if err.name() != code_name:
            raise SystemExit(f"{what}: expected {code_name}, got {err.name()} ({err.str()})")
        say(f"{what}: {code_name} ({err.str()})")
        return
    raise SystemExit(f"{what}: accepted")


def main():
    bootstrap = sys.argv[1]
    admin = AdminClient({"bootstrap.servers": bootstrap})

    wanted = [[3, 1], [1, 2], [2, 3]]
    admin.create_topics([NewTopic("placed", num_partitions=len(wanted), replica_assignment=wanted)])["placed"].result()
    got = replicas(admin, "placed", 3)
    assert got == wanted, got
    say(f"created placed with replicas {got}")

    admin.create_partitions(
        [NewPartitions("placed", 5, replica_assignment=[[2, 1], [3, 2]])]
    )["placed"].result()
    got = replicas(admin, "placed", 5)
    assert got[3:] == [[2, 1], [3, 2]], got
    assert got[:3] == wanted, got
    say(f"grew placed to 5 partitions: {got}")

    refused(
        admin.create_topics([NewTopic("ghost", num_partitions=1, replica_assignment=[[1, 9]])])["ghost"],
        "INVALID_REPLICA_ASSIGNMENT",
        "an unknown broker",
    )
    refused(
        admin.create_topics([NewTopic("twice", num_partitions=1, replica_assignment=[[1, 1]])])["twice"],
        "INVALID_REPLICA_ASSIGNMENT",
        "a broker twice",
    )
    refused(
        admin.create_topics([NewTopic("ragged", num_partitions=2, replica_assignment=[[1, 2], [3]])])["ragged"],
        "INVALID_REPLICA_ASSIGNMENT",
        "lists of different lengths",
    )
    refused(
        admin.create_partitions([NewPartitions("placed", 7, replica_assignment=[[1, 2]])])["placed"],
        "INVALID_REPLICA_ASSIGNMENT",
        "one list for two new partitions",
    )
    refused(
        admin.create_partitions([NewPartitions("placed", 6, replica_assignment=[[1, 2, 3]])])["placed"],
        "INVALID_REPLICA_ASSIGNMENT",
        "another replication factor",
    )
    for name in ("ghost", "twice", "ragged"):
        md = admin.list_topics(name, timeout=10)
        assert md.topics[name].error is not None, f"{name} was created"
    say("no refused topic exists")

    kp = KafkaAdminClient(bootstrap_servers=bootstrap)
    kp.create_topics({"kp-placed": {"assignments": {0: [1, 2, 3]}}})
    got = replicas(admin, "kp-placed", 1)
    assert got == [[1, 2, 3]], got
    say(f"kafka-python created kp-placed with replicas {got}")
    # A count and an assignment at once: INVALID_REQUEST, as Kafka answers.
    result = kp.create_topics(
        {"both": {"num_partitions": 2, "replication_factor": 1, "assignments": {0: [1]}}},
        raise_errors=False,
    )
    codes = [t["error_code"] for t in result["topics"]]
    assert codes == [42], result
    say("kafka-python: a count and an assignment at once: INVALID_REQUEST")
    kp.close()


if __name__ == "__main__":
    main()
