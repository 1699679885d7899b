#!/usr/bin/env python3
"""Kafka transactions with confluent-kafka (librdkafka) against a running
Cairn cluster (called by tests/transactions.rs, which starts the cluster,
creates the topics and kills the transaction coordinator). Every client runs
with its defaults except the settings a scenario is about.

a. Commit and abort: a transactional producer commits 100 records to
   `txn-plain`, aborts 100, commits 100 more. A read_committed consumer reads
   exactly the 200 committed values, in order; a read_uncommitted one reads
   all 300.
b. Zombie fencing: producer A opens a transaction and writes a record;
   producer B with the same transactional.id calls init_transactions, which
   fences A and aborts A's transaction. A's commit fails with a fatal
   fencing error; B commits "b-ok"; read_committed sees "b-ok" and never A's
   record.
c. Transaction timeout: a producer with transaction.timeout.ms=3000 writes 10
   records in a transaction and never ends it. A later transaction commits
   "after-timeout"; read_committed reads it (the coordinator aborted the
   timed-out transaction, so it no longer holds back the last stable offset)
   and none of the timed-out records; the abandoned producer cannot commit
   them afterwards either.
d. Consume-transform-produce, exactly once: 3,000 inputs in `txn-in`; a
   group consumer (read_committed, manual commits) and a transactional
   producer turn each poll batch into outputs in `txn-out` and commit the
   input offsets in the same transaction (send_offsets_to_transaction).
   After 1,000 inputs it prints `pause ctp-1` in the middle of a transaction
   (outputs written, offsets and commit not yet sent) and waits for a line
   on stdin: the test SIGKILLs the transaction coordinator of "ctp-1"
   meanwhile. Errors are handled as librdkafka documents: retriable -> call
   again, txn_requires_abort -> abort and rewind the consumer to the
   committed offsets, fatal -> the test fails. Afterwards txn-out holds each
   "out-i" exactly once, and the group's committed offsets are the ends of
   txn-in.

e. kafka-python: its transactional producer commits 50 records, aborts 50,
   commits 50 to `txn-kp`; its read_committed consumer reads the 100
   committed.
f. aiokafka: the same with its transactional producer and read_committed
   consumer, on `txn-aio`.

Prints one line per step, `all ok` at the end; exits non-zero with `FAIL ...`
on the first failure.

Usage: transactions.py BOOTSTRAP   (txn-in and txn-out: 3 partitions,
txn-plain, txn-kp and txn-aio: 1 partition, all RF 3, exist already)
"""
import sys
import time
from collections import Counter

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)

PLAIN = "txn-plain"
IN = "txn-in"
OUT = "txn-out"
INPUTS = 3000
PAUSE_AFTER = 1000
# How long one read or one transactional call may take, however many
# retries it needs, before the test gives up.
DEADLINE = 60
# librdkafka's names for "a newer producer with this transactional.id
# exists": it reports _FENCED for both broker codes, which are listed in
# case a call surfaces the broker's code as is.
FENCED = {"_FENCED", "PRODUCER_FENCED", "INVALID_PRODUCER_EPOCH"}
# The coordinator is elsewhere or still loading: ask again.
COORDINATOR_MOVED = {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_NOT_AVAILABLE,
                     KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError._TRANSPORT,
                     KafkaError._TIMED_OUT}


def say(line):
    print(line, flush=True)


def fail(what):
    say(f"FAIL {what}")
    sys.exit(1)


def describe(err):
    return f"{err.name()} ({err.str()}; fatal={err.fatal()}, retriable={err.retriable()}, " \
           f"txn_requires_abort={err.txn_requires_abort()})"


def transactional(bootstrap, transactional_id, **settings):
    """A producer with `transactional.id` whose init_transactions succeeded."""
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": transactional_id,
                         **settings})
    must(f"init_transactions of {transactional_id}", lambda: producer.init_transactions(30))
    return producer


def retrying(what, call):
    """Runs a client call, calling it again while it fails with a retriable
    error (librdkafka resumes an interrupted commit or abort on the next
    call); other errors propagate."""
    deadline = time.time() + DEADLINE
    while True:
        try:
            return call()
        except KafkaException as e:
            err = e.args[0]
            # A coordinator that moved (a broker was killed) is found again
            # on the next call, though librdkafka does not flag these
            # retriable for every call (consumer.committed, for one).
            moved = err.code() in COORDINATOR_MOVED
            if err.fatal() or err.txn_requires_abort() or not (err.retriable() or moved):
                raise
            if time.time() > deadline:
                fail(f"{what}: still retriable after {DEADLINE} s: {describe(err)}")
            say(f"{what}: retrying after {describe(err)}")
            time.sleep(0.2)


def must(what, call):
    """`retrying`, and any other error fails the test."""
    try:
        return retrying(what, call)
    except KafkaException as e:
        fail(f"{what}: {describe(e.args[0])}")


def read(bootstrap, topic, partitions, isolation, done):
    """Every value of `topic` (these partitions) from the beginning, as a
    consumer with `isolation.level=isolation` reads it: until `done(values)`
    holds and every partition reached its end (for read_committed, the last
    stable offset), so that whatever lies before the end was read too."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"check-{topic}",
                         "enable.auto.commit": False, "isolation.level": isolation,
                         "enable.partition.eof": True})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    values = []
    at_end = set()
    deadline = time.time() + DEADLINE
    try:
        while not (done(values) and at_end == set(partitions)):
            if time.time() > deadline:
                fail(f"{isolation} read of {topic} timed out after {DEADLINE} s with "
                     f"{len(values)} values, partitions at their end: {sorted(at_end)}; "
                     f"last values: {values[-5:]}")
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                elif msg.error().fatal():
                    fail(f"{isolation} read of {topic}: {describe(msg.error())}")
                continue
            at_end.discard(msg.partition())
            values.append(msg.value().decode())
    finally:
        consumer.close()
    return values


def read_plain(bootstrap, isolation, last):
    """`txn-plain` as `isolation` reads it, up to its end and at least up to
    the value `last`."""
    return read(bootstrap, PLAIN, [0], isolation, lambda values: last in values)


def commit_and_abort(bootstrap):
    producer = transactional(bootstrap, "plain-1")
    for prefix, commit in (("c", True), ("a", False), ("c2", True)):
        producer.begin_transaction()
        for i in range(100):
            producer.produce(PLAIN, value=f"{prefix}-{i}", partition=0)
        # Written before the abort: librdkafka's abort purges what it has
        # not sent yet, and the aborted records must be in the log.
        if producer.flush(30) != 0:
            fail(f"the {prefix}- records were not acknowledged within 30 s")
        if commit:
            must("commit_transaction", lambda: producer.commit_transaction(30))
        else:
            must("abort_transaction", lambda: producer.abort_transaction(30))
    committed = [f"c-{i}" for i in range(100)] + [f"c2-{i}" for i in range(100)]
    everything = [f"c-{i}" for i in range(100)] + [f"a-{i}" for i in range(100)] + \
        [f"c2-{i}" for i in range(100)]

    seen = read_plain(bootstrap, "read_committed", "c2-99")
    if seen != committed:
        aborted = [v for v in seen if v.startswith("a-")]
        fail(f"read_committed read {len(seen)} values, expected the 200 committed in order; "
             f"{len(aborted)} aborted among them (first: {aborted[:3]}); first values: {seen[:3]}")
    seen = read_plain(bootstrap, "read_uncommitted", "c2-99")
    if seen != everything:
        fail(f"read_uncommitted read {len(seen)} values, expected all 300 in order; "
             f"first values: {seen[:3]}")
    say("commit and abort ok: read_committed reads the 200 committed, read_uncommitted all 300")


def zombie_fencing(bootstrap):
    zombie = transactional(bootstrap, "zombie")
    zombie.begin_transaction()
    zombie.produce(PLAIN, value="zombie-record", partition=0)
    if zombie.flush(30) != 0:
        fail("the zombie's record was not acknowledged within 30 s")
    # Same transactional.id: the coordinator bumps the epoch and aborts the
    # zombie's open transaction before answering.
    successor = transactional(bootstrap, "zombie")
    try:
        zombie.commit_transaction(30)
        fail("the fenced producer's commit_transaction succeeded")
    except KafkaException as e:
        err = e.args[0]
        if err.name() not in FENCED or not err.fatal():
            fail(f"the fenced producer's commit failed with {describe(err)}, "
                 f"expected a fatal fencing error ({', '.join(sorted(FENCED))})")
        fenced = err.name()
    successor.begin_transaction()
    successor.produce(PLAIN, value="b-ok", partition=0)
    must("commit_transaction", lambda: successor.commit_transaction(30))

    seen = read_plain(bootstrap, "read_committed", "b-ok")
    if "zombie-record" in seen:
        fail("read_committed read the fenced producer's aborted record")
    say(f"zombie fenced ok: its commit failed with {fenced}; read_committed reads b-ok, "
        f"never the zombie's record")


def transaction_timeout(bootstrap):
    abandoned = transactional(bootstrap, "abandoned", **{"transaction.timeout.ms": 3000})
    abandoned.begin_transaction()
    for i in range(10):
        abandoned.produce(PLAIN, value=f"t-{i}", partition=0)
    if abandoned.flush(30) != 0:
        fail("the abandoned transaction's records were not acknowledged within 30 s")
    # `abandoned` stays referenced and is never committed or aborted: only
    # the coordinator's timeout can end its transaction.
    say("abandoned a transaction with 10 records and transaction.timeout.ms=3000")
    time.sleep(8)
    later = transactional(bootstrap, "later")
    later.begin_transaction()
    later.produce(PLAIN, value="after-timeout", partition=0)
    must("commit_transaction", lambda: later.commit_transaction(30))

    seen = read_plain(bootstrap, "read_committed", "after-timeout")
    leaked = [v for v in seen if v.startswith("t-")]
    if leaked:
        fail(f"read_committed read {len(leaked)} records of the timed-out transaction: {leaked[:3]}")
    # The coordinator aborted the transaction: its producer cannot commit it now.
    try:
        abandoned.commit_transaction(30)
        fail("the timed-out transaction was committed after the coordinator aborted it")
    except KafkaException as e:
        refused = e.args[0].name()
    seen = read_plain(bootstrap, "read_committed", "after-timeout")
    leaked = [v for v in seen if v.startswith("t-")]
    if leaked:
        fail(f"after a late commit_transaction, read_committed read {len(leaked)} records "
             f"of the timed-out transaction")
    say(f"timeout ok: read_committed reads after-timeout and no timed-out record; "
        f"a late commit fails with {refused}")


def produce_inputs(bootstrap):
    producer = Producer({"bootstrap.servers": bootstrap})
    failed = []
    acked = [0]

    def delivered(err, msg):
        if err is not None:
            failed.append(str(err))
        else:
            acked[0] += 1

    for i in range(INPUTS):
        producer.produce(IN, key=f"k{i}", value=f"in-{i}", on_delivery=delivered)
        producer.poll(0)
    remaining = producer.flush(60)
    if remaining or failed or acked[0] != INPUTS:
        fail(f"inputs: {acked[0]} of {INPUTS} acknowledged, {remaining} unflushed, "
             f"errors: {failed[:3]}")
    say(f"produced {INPUTS} inputs to {IN}")


class MustAbort(Exception):
    """The open transaction cannot be committed as it is."""


def rewind(consumer):
    """Seeks every assigned partition back to the group's committed offset
    (the beginning where none is committed): the inputs of an aborted
    transaction are read and processed again."""
    assigned = consumer.assignment()
    committed = must("committed", lambda: consumer.committed(assigned, timeout=30))
    for tp in committed:
        offset = tp.offset if tp.offset >= 0 else OFFSET_BEGINNING
        must("seek", lambda: consumer.seek(TopicPartition(tp.topic, tp.partition, offset)))


def transform(producer, consumer, records, pause):
    """One transaction: an output per input, then the consumer's positions as
    the group's offsets, then commit. Returns whether it committed (False:
    aborted and rewound)."""
    try:
        producer.begin_transaction()
        for m in records:
            try:
                producer.produce(OUT, key=m.key(), value=b"out-" + m.value()[len(b"in-"):])
            except BufferError as e:
                raise MustAbort(f"produce failed: {e}") from e
            except KafkaException as e:
                # produce() refuses (_STATE) once the transaction hit an
                # abortable error; a fatal one ends the test below.
                if e.args[0].fatal():
                    raise
                raise MustAbort(f"produce failed: {describe(e.args[0])}") from e
        if pause:
            # The outputs are written and the transaction is open on its
            # coordinator when the test kills it.
            if producer.flush(30) != 0:
                raise MustAbort("outputs not acknowledged within 30 s before the pause")
            say("pause ctp-1")
            sys.stdin.readline()
            say("ctp: resumed after the coordinator kill")
        positions = consumer.position(consumer.assignment())
        ends = {}
        for m in records:
            ends[m.partition()] = max(ends.get(m.partition(), 0), m.offset() + 1)
        at = {tp.partition: tp.offset for tp in positions}
        moved = {p: at.get(p) for p, end in ends.items() if at.get(p) != end}
        if moved:
            # A rebalance or a seek moved the consumer under this batch: the
            # positions no longer say which inputs these outputs came from.
            raise MustAbort(f"positions {moved} are not the batch's ends {ends}")
        offsets = [tp for tp in positions if tp.offset >= 0]
        retrying("send_offsets_to_transaction", lambda: producer.send_offsets_to_transaction(
            offsets, consumer.consumer_group_metadata(), 30))
        retrying("commit_transaction", lambda: producer.commit_transaction(30))
        return True
    except (KafkaException, MustAbort) as e:
        if isinstance(e, KafkaException):
            err = e.args[0]
            if not err.txn_requires_abort():
                fail(f"ctp: {describe(err)}")
            why = describe(err)
        else:
            why = str(e)
        say(f"ctp: aborting the transaction: {why}")
        must("abort_transaction", lambda: producer.abort_transaction(30))
        rewind(consumer)
        return False


def consume_transform_produce(bootstrap):
    produce_inputs(bootstrap)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "ctp",
                         "enable.auto.commit": False, "isolation.level": "read_committed",
                         "auto.offset.reset": "earliest"})
    consumer.subscribe([IN])
    producer = transactional(bootstrap, "ctp-1")
    processed = set()
    committed = aborted = 0
    paused = False
    deadline = time.time() + 3 * DEADLINE
    while len(processed) < INPUTS:
        if time.time() > deadline:
            fail(f"ctp: {len(processed)} of {INPUTS} inputs processed after {3 * DEADLINE} s")
        records = []
        for m in consumer.consume(num_messages=200, timeout=1.0):
            if m.error():
                if m.error().fatal():
                    fail(f"ctp consumer: {describe(m.error())}")
                say(f"ctp consumer: {describe(m.error())}")
            else:
                records.append(m)
        if not records:
            continue
        pause = not paused and len(processed) >= PAUSE_AFTER
        paused = paused or pause
        if transform(producer, consumer, records, pause):
            committed += 1
            before = len(processed)
            processed.update(m.value().decode() for m in records)
            if before // 500 != len(processed) // 500:
                say(f"ctp: {len(processed)} of {INPUTS} inputs processed")
        else:
            aborted += 1
    if not paused:
        fail("ctp: never paused for the coordinator kill")
    unknown = processed - {f"in-{i}" for i in range(INPUTS)}
    if unknown:
        fail(f"ctp: read values that were never produced: {sorted(unknown)[:3]}")

    # The group's offsets were committed with the transactions: they are the
    # ends of txn-in.
    assigned = consumer.assignment()
    offsets = must("committed", lambda: consumer.committed(assigned, timeout=30))
    ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=30)[1] for tp in assigned}
    got = {tp.partition: tp.offset for tp in offsets}
    if got != ends or sum(ends.values()) != INPUTS:
        fail(f"ctp: group offsets {got}, expected the ends of {IN} {ends} ({INPUTS} in all)")
    consumer.close()

    outputs = read(bootstrap, OUT, [0, 1, 2], "read_committed",
                   lambda values: len(set(values)) >= INPUTS)
    counts = Counter(outputs)
    expected = {f"out-{i}" for i in range(INPUTS)}
    duplicates = sorted(v for v, n in counts.items() if n > 1)
    missing = sorted(expected - set(counts))
    extra = sorted(set(counts) - expected)
    if duplicates or missing or extra:
        fail(f"ctp: {len(outputs)} outputs: {len(duplicates)} duplicated (e.g. {duplicates[:3]}), "
             f"{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} unexpected "
             f"(e.g. {extra[:3]})")
    say(f"ctp ok {INPUTS} outputs, each once ({committed} transactions committed, "
        f"{aborted} aborted)")


def kafka_python(bootstrap):
    """kafka-python's transactional producer (its defaults, plus the
    transactional_id) and its read_committed consumer, on topic `txn-kp`."""
    from kafka import KafkaConsumer, KafkaProducer
    from kafka import TopicPartition as KpTopicPartition

    producer = KafkaProducer(bootstrap_servers=bootstrap, transactional_id="kafka-python-1")
    producer.init_transactions()
    for prefix, commit in (("kp-c", True), ("kp-a", False), ("kp-c2", True)):
        producer.begin_transaction()
        for i in range(50):
            producer.send("txn-kp", value=f"{prefix}-{i}".encode(), partition=0)
        producer.flush()
        if commit:
            producer.commit_transaction()
        else:
            producer.abort_transaction()
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             isolation_level="read_committed", consumer_timeout_ms=10_000)
    part = KpTopicPartition("txn-kp", 0)
    consumer.assign([part])
    consumer.seek_to_beginning(part)
    values = []
    deadline = time.time() + DEADLINE
    while len(values) < 100 and time.time() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            values.extend(r.value.decode() for r in records)
    consumer.close()
    expected = [f"kp-c-{i}" for i in range(50)] + [f"kp-c2-{i}" for i in range(50)]
    if values != expected:
        aborted = [v for v in values if v.startswith("kp-a-")]
        fail(f"kafka-python read_committed read {len(values)} values, {len(aborted)} aborted")
    say("kafka-python ok: read_committed reads the 100 committed")


def aiokafka_transactions(bootstrap):
    """aiokafka's transactional producer (`transactional_id`, which needs
    its `enable_idempotence`) commits 50 records, aborts 50, commits 50 to
    `txn-aio`; its read_committed consumer reads the 100 committed."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.structs import TopicPartition as AioTopicPartition

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, transactional_id="aiokafka-1",
                                    enable_idempotence=True)
        await producer.start()
        try:
            for prefix, commit in (("aio-c", True), ("aio-a", False), ("aio-c2", True)):
                await producer.begin_transaction()
                for i in range(50):
                    await producer.send_and_wait("txn-aio", f"{prefix}-{i}".encode(), partition=0)
                if commit:
                    await producer.commit_transaction()
                else:
                    await producer.abort_transaction()
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed",
                                    enable_auto_commit=False, auto_offset_reset="earliest")
        await consumer.start()
        values = []
        try:
            part = AioTopicPartition("txn-aio", 0)
            consumer.assign([part])
            await consumer.seek_to_beginning(part)
            deadline = time.time() + DEADLINE
            while len(values) < 100 and time.time() < deadline:
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    values.extend(r.value.decode() for r in records)
        finally:
            await consumer.stop()
        return values

    values = asyncio.run(run())
    expected = [f"aio-c-{i}" for i in range(50)] + [f"aio-c2-{i}" for i in range(50)]
    if values != expected:
        aborted = [v for v in values if v.startswith("aio-a-")]
        fail(f"aiokafka read_committed read {len(values)} values, {len(aborted)} aborted")
    say("aiokafka ok: read_committed reads the 100 committed")


def main():
    bootstrap = sys.argv[1]
    commit_and_abort(bootstrap)
    zombie_fencing(bootstrap)
    transaction_timeout(bootstrap)
    consume_transform_produce(bootstrap)
    kafka_python(bootstrap)
    aiokafka_transactions(bootstrap)
    say("all ok")


if __name__ == "__main__":
    main()
