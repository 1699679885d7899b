//! The idempotent producer end to end, against 3-broker clusters started by
//! the tests:
//! - real clients with idempotence on: kafka-python's default producer,
//!   aiokafka with `enable_idempotence=True`, and confluent-kafka sending
//!   100,000 messages while the test SIGKILLs the partition leader twice;
//!   every message lands once, in order (tests/python/idempotence.py);
//!   kafkajs with `idempotent: true` (tests/js/idempotent.js); the Java
//!   client's default producer (tests/java/DefaultProducer.java);
//! - the broker's verdicts on raw Produce requests: a retry answers its first
//!   offset, a gap, a fenced epoch and an unknown producer their Kafka error
//!   codes, and a retried batch is still recognised after retention deleted
//!   its records and every broker restarted.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, DescribeProducersRequest, DescribeProducersResponse, InitProducerIdRequest,
    InitProducerIdResponse, ProduceRequest, ProduceResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;
use support::{java_classpath, ok, partitions, wire, TestCluster};

const WAIT: Duration = Duration::from_secs(60);

/// The leader of `topic` partition 0 as broker `asked` sees it, other than `not`.
fn leader(cluster: &TestCluster, asked: u64, topic: &str, not: Option<u64>) -> u64 {
    cluster.wait_for("a partition leader", WAIT, || {
        let v = cluster.view(asked)?;
        partitions(&v, topic)[0]["leader"]
            .as_u64()
            .filter(|&l| Some(l) != not)
    })
}

/// Waits until broker `id` hosts a replica of `topic` partition 0 that has
/// applied up to at least `offset`.
fn caught_up(cluster: &TestCluster, id: u64, topic: &str, offset: u64) {
    cluster.wait_for("the restarted replica caught up", WAIT, || {
        let v: Value = cluster.view(id)?;
        let hw = partitions(&v, topic)[0]["local"]["high_watermark"].as_u64()?;
        (hw >= offset).then_some(())
    });
}

#[test]
fn real_clients_with_idempotence_send_each_message_once_through_leader_kills() {
    let mut cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic("plain", 3, 3);
    cluster.create_topic("idem", 1, 3);
    let script = format!("{}/tests/python/idempotence.py", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(cluster.bootstrap())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run python3");
    let mut stdin = child.stdin.take().unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut transcript = Vec::new();
    let mut kills = 0;
    for line in stdout.lines() {
        let line = line.unwrap();
        eprintln!("idempotence.py: {line}");
        transcript.push(line.clone());
        if line.starts_with("pause ") {
            // Kill the leader with sends in flight, wait for the next one,
            // bring the killed broker back and let it catch up, so that the
            // next kill still leaves a majority.
            let observer = |not: u64| [1, 2, 3].into_iter().find(|&b| b != not).unwrap();
            let killed = leader(&cluster, 1, "idem", None);
            cluster.kill(killed);
            let next = leader(&cluster, observer(killed), "idem", Some(killed));
            eprintln!("killed leader {killed}; broker {next} leads now");
            cluster.spawn(killed);
            caught_up(&cluster, killed, "idem", 1);
            kills += 1;
            writeln!(stdin, "go").unwrap();
            stdin.flush().unwrap();
        }
    }
    let status = child.wait().unwrap();
    let transcript = transcript.join("\n");
    assert!(status.success(), "idempotence.py failed:\n{transcript}");
    assert_eq!(kills, 2, "{transcript}");
    assert!(transcript.contains("idempotence ok"), "{transcript}");
    assert!(
        transcript.contains("aiokafka idempotent producer: 500 sent, each read once"),
        "{transcript}"
    );

    // kafkajs with `idempotent: true`.
    cluster.create_topic("kjs", 2, 3);
    let out = support::run_client(
        "node",
        "js/idempotent.js",
        &[&cluster.bootstrap(), "kjs", "600"],
    );
    assert!(
        out.contains("kafkajs idempotent: 600 sent, each read once"),
        "{out}"
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn the_java_clients_default_producer_sends_with_idempotence() {
    let cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic("java", 3, 3);
    let program = format!(
        "{}/tests/java/DefaultProducer.java",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = Command::new("java")
        .args(["-cp", &java_classpath(), &program])
        .args([&cluster.bootstrap(), "java", "1000"])
        .output()
        .expect("run java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "DefaultProducer.java failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("enable.idempotence=true) sent 1000"),
        "{stdout}"
    );
    // Every record once: the partitions hold 1000 records, and each
    // partition's producer is known to its leader.
    let view = cluster.view(1).unwrap();
    let total: u64 = partitions(&view, "java")
        .iter()
        .map(|p| {
            let leader = p["leader"].as_u64().unwrap();
            let v = cluster.view(leader).unwrap();
            let mine = partitions(&v, "java")
                .into_iter()
                .find(|q| q["partition"] == p["partition"])
                .unwrap();
            mine["local"]["high_watermark"].as_u64().unwrap()
        })
        .sum();
    assert_eq!(total, 1000);
    let listed = ok(&cluster.cli(
        1,
        &[
            "topic",
            "describe",
            "java",
            "--producers",
            "--output",
            "json",
        ],
    ));
    let rows: Value = serde_json::from_str(&listed).expect("json");
    assert!(rows.as_array().is_some_and(|r| !r.is_empty()), "{listed}");
}

/// One record batch of producer `id`, epoch `epoch`, records from sequence
/// `seq`, stamped `timestamp`.
fn batch_at(id: i64, epoch: i16, seq: i32, values: &[&[u8]], timestamp: i64) -> Bytes {
    Bytes::from(cairn_common::batch::with_producer(
        cairn_common::batch::build(values, timestamp),
        id,
        epoch,
        seq,
    ))
}

/// [`batch_at`] stamped now.
fn batch(id: i64, epoch: i16, seq: i32, values: &[&[u8]]) -> Bytes {
    batch_at(id, epoch, seq, values, now_ms())
}

/// Produces `records` (acks=all) to `topic` partition 0; returns the error code and base offset.
fn produce(s: &mut TcpStream, topic: &str, records: Bytes) -> (i16, i64) {
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.into())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(records))])]);
    let response: ProduceResponse = wire::call(s, ApiKey::Produce, 9, &request);
    let p = &response.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn init_producer_id(s: &mut TcpStream, version: i16) -> (i64, i16) {
    let response: InitProducerIdResponse = wire::call(
        s,
        ApiKey::InitProducerId,
        version,
        &InitProducerIdRequest::default()
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(kafka_protocol::messages::ProducerId(-1))
            .with_producer_epoch(-1),
    );
    assert_eq!(response.error_code, 0, "InitProducerId v{version}");
    (response.producer_id.0, response.producer_epoch)
}

/// The producer ids partition 0 of `topic` knows (DescribeProducers), in order.
fn describe_producers(s: &mut TcpStream, topic: &str) -> Vec<i64> {
    let described: DescribeProducersResponse = wire::call(
        s,
        ApiKey::DescribeProducers,
        0,
        &DescribeProducersRequest::default().with_topics(vec![
            kafka_protocol::messages::describe_producers_request::TopicRequest::default()
                .with_name(TopicName(StrBytes::from_string(topic.into())))
                .with_partition_indexes(vec![0]),
        ]),
    );
    let p = &described.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let mut ids: Vec<i64> = p.active_producers.iter().map(|p| p.producer_id.0).collect();
    ids.sort();
    ids
}

/// A connection to the broker leading `topic` partition 0.
fn to_leader(cluster: &TestCluster, topic: &str) -> TcpStream {
    let id = leader(cluster, 1, topic, None);
    wire::connect(cluster.brokers[&id].kafka)
}

#[test]
fn retries_gaps_fencing_and_unknown_producers_and_state_across_purge_and_full_restart() {
    use cairn_common::error_code::{
        INVALID_PRODUCER_EPOCH, NOT_COORDINATOR, NOT_LEADER_OR_FOLLOWER,
        OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID,
    };
    // Retention checks (and so snapshots and purges) every 500 ms.
    let mut cluster =
        TestCluster::start_with_env(3, &[("CAIRN_LOG_RETENTION_CHECK_INTERVAL_MS", "500")]);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic("raw", 1, 3);
    let mut s = to_leader(&cluster, "raw");

    // Ids are handed out once, by every version, with epoch 0.
    let (a, epoch) = init_producer_id(&mut s, 0);
    assert_eq!(epoch, 0);
    let (b, _) = init_producer_id(&mut s, 4);
    let mut other =
        wire::connect(cluster.brokers[&(leader(&cluster, 1, "raw", None) % 3 + 1)].kafka);
    let (c, _) = init_producer_id(&mut other, 5);
    assert!(a != b && b != c && a != c, "{a} {b} {c}");
    // A transactional id belongs to its transaction coordinator: before any
    // client looked for one (FindCoordinator creates `__transaction_state`),
    // every broker answers NOT_COORDINATOR, which clients follow.
    let refused: InitProducerIdResponse = wire::call(
        &mut s,
        ApiKey::InitProducerId,
        3,
        &InitProducerIdRequest::default()
            .with_transactional_id(Some(kafka_protocol::messages::TransactionalId(
                StrBytes::from_static_str("tx-1"),
            )))
            .with_transaction_timeout_ms(60_000),
    );
    assert_eq!(refused.error_code, NOT_COORDINATOR);

    let first = batch(a, 0, 0, &[b"a0", b"a1", b"a2"]);
    assert_eq!(produce(&mut s, "raw", first.clone()), (0, 0));
    // The same batch again (a retry): its first offset, nothing written.
    assert_eq!(produce(&mut s, "raw", first.clone()), (0, 0));
    assert_eq!(produce(&mut s, "raw", batch(a, 0, 3, &[b"a3"])), (0, 3));
    // A gap, an unknown producer mid-stream, a negative sequence.
    assert_eq!(
        produce(&mut s, "raw", batch(a, 0, 9, &[b"gap"])).0,
        OUT_OF_ORDER_SEQUENCE_NUMBER
    );
    assert_eq!(
        produce(&mut s, "raw", batch(b, 0, 5, &[b"b5"])).0,
        UNKNOWN_PRODUCER_ID
    );
    assert_eq!(
        produce(&mut s, "raw", batch(b, 0, -1, &[b"neg"])).0,
        cairn_common::error_code::INVALID_RECORD
    );
    // A new epoch for a's id fences the old one.
    assert_eq!(produce(&mut s, "raw", batch(a, 1, 0, &[b"e1"])), (0, 4));
    assert_eq!(
        produce(&mut s, "raw", batch(a, 0, 4, &[b"old"])).0,
        INVALID_PRODUCER_EPOCH
    );
    // b starts properly.
    assert_eq!(produce(&mut s, "raw", batch(b, 0, 0, &[b"b0"])), (0, 5));

    // DescribeProducers shows both, as the leader knows them.
    let described: DescribeProducersResponse = wire::call(
        &mut s,
        ApiKey::DescribeProducers,
        0,
        &DescribeProducersRequest::default().with_topics(vec![
            kafka_protocol::messages::describe_producers_request::TopicRequest::default()
                .with_name(TopicName(StrBytes::from_static_str("raw")))
                .with_partition_indexes(vec![0]),
        ]),
    );
    let p = &described.topics[0].partitions[0];
    assert_eq!(p.error_code, 0);
    let mut seen: Vec<(i64, i32, i32)> = p
        .active_producers
        .iter()
        .map(|p| (p.producer_id.0, p.producer_epoch, p.last_sequence))
        .collect();
    seen.sort();
    let mut want = vec![(a, 1, 0), (b, 0, 0)];
    want.sort();
    assert_eq!(seen, want);
    // So does the CLI.
    let listed = ok(&cluster.cli(
        1,
        &[
            "topic",
            "describe",
            "raw",
            "--producers",
            "--output",
            "json",
        ],
    ));
    let rows: Value = serde_json::from_str(&listed).expect("json");
    let mut ids: Vec<i64> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["producer_id"].as_i64().unwrap())
        .collect();
    ids.sort();
    let mut want_ids = vec![a, b];
    want_ids.sort();
    assert_eq!(ids, want_ids, "{listed}");

    // Delete every record (DeleteRecords to the end): retention purges the
    // log behind a snapshot. Then every broker restarts.
    let bootstrap = cluster.bootstrap();
    ok(&support::cli_with_env(
        &["topic", "trim", "raw", "-p", "0", "--before", "end"],
        &[("CAIRN_BOOTSTRAP", &bootstrap)],
    ));
    for id in 1..=3 {
        cluster.wait_for("the log start moved on every replica", WAIT, || {
            let v = cluster.view(id)?;
            (partitions(&v, "raw")[0]["local"]["log_start_offset"].as_u64()? == 6).then_some(())
        });
    }
    // Retention checks every 500 ms: give each replica a few to snapshot and purge.
    std::thread::sleep(Duration::from_secs(3));
    drop(s);
    drop(other);
    for id in 1..=3 {
        cluster.kill(id);
    }
    for id in 1..=3 {
        cluster.spawn(id);
    }
    cluster.wait_formed(1, &[1, 2, 3]);
    // b's last batch, retried after all that: still a duplicate.
    let retried = cluster.wait_for("the partition answers", WAIT, || {
        let mut s = to_leader(&cluster, "raw");
        let answer = produce(&mut s, "raw", batch(b, 0, 0, &[b"b0"]));
        (answer.0 == 0).then_some(answer)
    });
    assert_eq!(retried, (0, 5));
    // Right after a full restart leadership may still move once: a batch
    // answered NOT_LEADER_OR_FOLLOWER was not appended, and a client
    // sends it again to the new leader. Any other answer is final.
    let next = cluster.wait_for("b's next batch is answered by a leader", WAIT, || {
        let mut s = to_leader(&cluster, "raw");
        let answer = produce(&mut s, "raw", batch(b, 0, 1, &[b"b1"]));
        (answer.0 != NOT_LEADER_OR_FOLLOWER).then_some(answer)
    });
    assert_eq!(next, (0, 6));
    let leader_id = leader(&cluster, 1, "raw", None);
    let view = cluster.view(leader_id).unwrap();
    assert_eq!(
        partitions(&view, "raw")[0]["local"]["log_start_offset"].as_u64(),
        Some(6),
        "{view}"
    );
}

#[test]
fn a_silent_producer_expires_after_producer_id_expiration_ms() {
    use cairn_common::error_code::UNKNOWN_PRODUCER_ID;
    let cluster = TestCluster::start_with_env(
        1,
        &[
            ("CAIRN_LOG_RETENTION_CHECK_INTERVAL_MS", "300"),
            ("CAIRN_PRODUCER_ID_EXPIRATION_MS", "60000"),
        ],
    );
    cluster.wait_formed(1, &[1]);
    cluster.create_topic("expiring", 1, 1);
    let mut s = to_leader(&cluster, "expiring");
    let (old, _) = init_producer_id(&mut s, 4);
    let (fresh, _) = init_producer_id(&mut s, 4);
    // One producer last seen two minutes ago, one now.
    let two_minutes_ago = now_ms() - 120_000;
    assert_eq!(
        produce(
            &mut s,
            "expiring",
            batch_at(old, 0, 0, &[b"o"], two_minutes_ago)
        ),
        (0, 0)
    );
    assert_eq!(
        produce(&mut s, "expiring", batch(fresh, 0, 0, &[b"f"])),
        (0, 1)
    );
    // A retention check forgets the old one only (DescribeProducers reads;
    // a produce would refresh the producer it probes).
    cluster.wait_for("the old producer expired", WAIT, || {
        (describe_producers(&mut s, "expiring") == [fresh]).then_some(())
    });
    assert_eq!(
        produce(&mut s, "expiring", batch(old, 0, 1, &[b"o1"])).0,
        UNKNOWN_PRODUCER_ID
    );
    assert_eq!(
        produce(&mut s, "expiring", batch(fresh, 0, 1, &[b"f1"])),
        (0, 2)
    );
}
