#!/usr/bin/env python3
"""A replica move with kafka-python's admin client, its defaults unchanged
(called by tests/reassign.rs).

Moves TOPIC's PARTITION to REPLICAS (alter_partition_reassignments), polls
list_partition_reassignments until the partition is no longer listed, then
cancels a move of the same partition, which is no longer moving. Prints one
JSON object: the move's error ("none" if accepted), whether the partition
was seen moving, how many seconds until it was not, and the cancel's error.

Usage: reassign.py BOOTSTRAP TOPIC PARTITION REPLICAS   (REPLICAS: 2,3,4)
"""
import json
import sys
import time

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient


def main():
    bootstrap, topic, partition, replicas = sys.argv[1:5]
    tp = TopicPartition(topic, int(partition))
    target = [int(r) for r in replicas.split(",")]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        started = time.monotonic()
        moved = admin.alter_partition_reassignments({tp: target})
        seen_moving = False
        while time.monotonic() - started < 60:
            ongoing = admin.list_partition_reassignments()
            if tp not in ongoing:
                break
            seen_moving = True
            assert ongoing[tp]["replicas"][: len(target)] == target, ongoing
            time.sleep(0.2)
        took = time.monotonic() - started
        cancelled = admin.alter_partition_reassignments({tp: None})
        name = lambda e: "none" if e is None else e.__name__
        print(json.dumps({
            "move": name(moved.get(tp)),
            "seen_moving": seen_moving,
            "seconds": round(took, 2),
            "cancel": name(cancelled.get(tp)),
        }))
    finally:
        admin.close()


if __name__ == "__main__":
    main()
