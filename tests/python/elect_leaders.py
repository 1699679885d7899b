#!/usr/bin/env python3
"""A preferred leader election with kafka-python's admin client, its
defaults unchanged (called by tests/leader_balance.rs).

Prints one JSON object: {"error_code": top-level code, "partitions":
[[topic, partition, error_code, error_message], ...]}. Raises nothing on
per-partition errors, so that the test sees every answer.

Usage: elect_leaders.py BOOTSTRAP [TOPIC]   (no topic: every partition)
"""
import json
import sys

from kafka.admin import KafkaAdminClient


def main():
    bootstrap = sys.argv[1]
    topics = {sys.argv[2]: None} if len(sys.argv) > 2 else None
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        if topics is not None:
            # Every partition of the named topic, as {topic: [partitions]}.
            name = sys.argv[2]
            count = len(admin.describe_topics([name])[0]["partitions"])
            topics = {name: list(range(count))}
        response = admin.elect_leaders(0, topics, raise_errors=False)
        partitions = [
            [result.topic, p.partition_id, p.error_code, p.error_message]
            for result in response.replica_election_results
            for p in result.partition_result
        ]
        print(json.dumps({
            "error_code": getattr(response, "error_code", 0),
            "version": response.API_VERSION,
            "partitions": partitions,
        }))
    finally:
        admin.close()


if __name__ == "__main__":
    main()
