//! Kafka transactions end to end with real clients: confluent-kafka
//! (librdkafka) producers and consumers against a 3-broker cluster started by
//! the test (tests/python/transactions.py):
//! - a committed transaction's records reach a read_committed consumer, in
//!   order, and an aborted one's never do; a read_uncommitted consumer reads
//!   both;
//! - a second producer with the same transactional.id fences the first: the
//!   zombie's commit fails with a fatal fencing error, and its open
//!   transaction is aborted, never visible to read_committed;
//! - a transaction left open past its `transaction.timeout.ms` is aborted by
//!   the coordinator: it stops holding back the last stable offset, its
//!   records never become visible, and its producer cannot commit it later;
//! - a consume-transform-produce loop (`send_offsets_to_transaction`) turns
//!   3,000 inputs into exactly one output each, and leaves the group's offsets
//!   at the input ends, while the test SIGKILLs the transaction coordinator of
//!   its transactional.id in the middle of a transaction: the coordinator
//!   moves to another broker (FindCoordinator names it) and the transaction
//!   completes or aborts there;
//! - kafka-python's and aiokafka's transactional producers and
//!   read_committed consumers;
//! - the Java client's transactional producer, read_committed consumer and
//!   Admin client (tests/java/TxnProducer.java), kafkajs' transactional
//!   producer and consumer (tests/js/transactions.js), and `cairn txn list`
//!   and `describe` on what they left;
//! - bad input over the raw protocol gets Kafka's error codes: a timeout
//!   over `transaction_max_timeout_ms`, AddPartitionsToTxn with an unknown
//!   partition, EndTxn without a transaction or with the other outcome,
//!   requests of a fenced epoch or a foreign producer id, a produce of a
//!   zombie's transactional batch, a client's control batch or
//!   WriteTxnMarkers, and
//!   DescribeTransactions of an unknown id or at a non-coordinator; and the
//!   coordinator's `cairn_txn_*` metrics count what it decided.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::write_txn_markers_request::{
    WritableTxnMarker, WritableTxnMarkerTopic,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, DescribeTransactionsRequest,
    DescribeTransactionsResponse, EndTxnRequest, EndTxnResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, InitProducerIdRequest, InitProducerIdResponse, ProduceRequest,
    ProduceResponse, ProducerId, TopicName, TransactionalId, WriteTxnMarkersRequest,
    WriteTxnMarkersResponse,
};
use kafka_protocol::protocol::StrBytes;
use support::{fails, ok, wire, TestCluster};

const WAIT: Duration = Duration::from_secs(60);
/// FindCoordinator's `key_type` of a transactional id.
const KEY_TYPE_TRANSACTION: i8 = 1;

/// The broker coordinating `transactional_id` as broker `asked` answers
/// FindCoordinator (v3: one key, key type in the request); `None` while it
/// names none.
fn txn_coordinator(cluster: &TestCluster, asked: u64, transactional_id: &str) -> Option<u64> {
    let mut s = wire::connect(cluster.brokers[&asked].kafka);
    let found: FindCoordinatorResponse = wire::call(
        &mut s,
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default()
            .with_key(StrBytes::from_string(transactional_id.to_owned()))
            .with_key_type(KEY_TYPE_TRANSACTION),
    );
    if found.error_code != 0 {
        return None;
    }
    u64::try_from(found.node_id.0).ok()
}

#[test]
fn transactions_with_real_clients_commit_abort_fence_time_out_and_survive_a_coordinator_kill() {
    let mut cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic("txn-in", 3, 3);
    cluster.create_topic("txn-out", 3, 3);
    cluster.create_topic("txn-plain", 1, 3);
    cluster.create_topic("txn-kp", 1, 3);
    cluster.create_topic("txn-aio", 1, 3);
    let script = format!(
        "{}/tests/python/transactions.py",
        env!("CARGO_MANIFEST_DIR")
    );
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
        eprintln!("transactions.py: {line}");
        transcript.push(line.clone());
        let Some(transactional_id) = line.strip_prefix("pause ") else {
            continue;
        };
        // The script has a transaction open with its outputs written. Kill
        // the coordinator under it, wait until a survivor names another
        // broker (the `__transaction_state` partition elected a new leader,
        // which must know the open transaction from the Raft log), then
        // bring the killed broker back so the cluster is whole again.
        let killed = cluster.wait_for("the transaction coordinator", WAIT, || {
            txn_coordinator(&cluster, 1, transactional_id)
        });
        cluster.kill(killed);
        let survivor = [1, 2, 3].into_iter().find(|&b| b != killed).unwrap();
        let next = cluster.wait_for("a new transaction coordinator", WAIT, || {
            txn_coordinator(&cluster, survivor, transactional_id).filter(|&b| b != killed)
        });
        eprintln!("killed coordinator {killed} of {transactional_id}; {next} took over");
        cluster.spawn(killed);
        cluster.wait_formed(survivor, &[1, 2, 3]);
        kills += 1;
        writeln!(stdin, "go").unwrap();
        stdin.flush().unwrap();
    }
    let status = child.wait().unwrap();
    let transcript = transcript.join("\n");
    assert!(status.success(), "transactions.py failed:\n{transcript}");
    assert_eq!(kills, 1, "{transcript}");
    for step in [
        "commit and abort ok",
        "zombie fenced ok",
        "timeout ok",
        "ctp ok 3000 outputs",
        "kafka-python ok",
        "aiokafka ok",
        "all ok",
    ] {
        assert!(transcript.contains(step), "no `{step}` in:\n{transcript}");
    }
}

/// The Java client (kafka-clients 3.9.1): a transactional producer commits
/// and aborts; its read_committed consumer reads only what was committed;
/// its Admin client lists and describes the transactional id. Then kafkajs
/// does the same, and `cairn txn` lists and describes the ids.
#[test]
fn java_and_kafkajs_transactions_commit_abort_and_admin_tools_see_them() {
    let cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic("java-txn", 3, 3);
    let program = format!("{}/tests/java/TxnProducer.java", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("java")
        .args(["-cp", &support::java_classpath(), &program])
        .args([&cluster.bootstrap(), "java-txn", "50"])
        .output()
        .expect("run java (a JDK 17+ is needed; scripts/setup.sh installs one)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "TxnProducer.java failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("java read_committed read 51, read_uncommitted read 101"),
        "{stdout}"
    );
    assert!(
        stdout.contains("java admin: listed true, state CompleteCommit"),
        "{stdout}"
    );

    // kafkajs: a transactional producer and a read_committed consumer.
    cluster.create_topic("js-txn", 1, 3);
    let out = support::run_client(
        "node",
        "js/transactions.js",
        &[&cluster.bootstrap(), "js-txn", "30"],
    );
    assert!(
        out.contains("kafkajs transactions: 60 committed read, no aborted"),
        "{out}"
    );

    // `cairn txn` sees the same.
    let bootstrap = cluster.bootstrap();
    let txn = |args: &[&str]| {
        let mut all = vec!["txn"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--bootstrap-server", &bootstrap]);
        cluster.cli(1, &all)
    };
    let listed = ok(&txn(&["list"]));
    let row = listed
        .lines()
        .find(|l| l.starts_with("java-txn "))
        .unwrap_or_else(|| panic!("no java-txn in:\n{listed}"));
    assert!(row.ends_with("CompleteCommit"), "{row}");
    assert!(ok(&txn(&["list", "--state", "Ongoing"])).contains("no transactional ids"));
    let described: serde_json::Value =
        serde_json::from_str(&ok(&txn(&["describe", "java-txn", "--output", "json"]))).unwrap();
    assert_eq!(described["state"], "CompleteCommit", "{described}");
    assert!(
        described["producer_id"].as_i64().unwrap() >= 0,
        "{described}"
    );
    assert!(
        fails(&txn(&["describe", "no-such-id"])).contains("no transactional id 'no-such-id'"),
        "an unknown id is named"
    );
    assert!(
        fails(&txn(&["list", "--state", "Sleeping"]))
            .contains("unknown transaction state 'Sleeping'"),
        "a bad state is named"
    );
}

/// Kafka's error codes, as the tests expect them.
mod code {
    pub const NONE: i16 = 0;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const NOT_COORDINATOR: i16 = 16;
    pub const INVALID_RECORD: i16 = 87;
    pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const INVALID_TXN_STATE: i16 = 48;
    pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
    pub const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
    pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
    pub const PRODUCER_FENCED: i16 = 90;
    pub const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;
}

fn txn_id(id: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(id.to_owned()))
}

fn init(s: &mut std::net::TcpStream, id: &str, timeout_ms: i32) -> InitProducerIdResponse {
    wire::call(
        s,
        ApiKey::InitProducerId,
        4,
        &InitProducerIdRequest::default()
            .with_transactional_id(Some(txn_id(id)))
            .with_transaction_timeout_ms(timeout_ms)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    )
}

fn add(
    s: &mut std::net::TcpStream,
    id: &str,
    producer: (i64, i16),
    topics: &[(&str, &[i32])],
) -> Vec<(String, i32, i16)> {
    let response: AddPartitionsToTxnResponse = wire::call(
        s,
        ApiKey::AddPartitionsToTxn,
        3,
        &AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(txn_id(id))
            .with_v3_and_below_producer_id(ProducerId(producer.0))
            .with_v3_and_below_producer_epoch(producer.1)
            .with_v3_and_below_topics(
                topics
                    .iter()
                    .map(|(t, ps)| {
                        AddPartitionsToTxnTopic::default()
                            .with_name(TopicName(StrBytes::from_string(t.to_string())))
                            .with_partitions(ps.to_vec())
                    })
                    .collect(),
            ),
    );
    response
        .results_by_topic_v3_and_below
        .into_iter()
        .flat_map(|t| {
            let topic = t.name.0.to_string();
            t.results_by_partition
                .into_iter()
                .map(move |p| (topic.clone(), p.partition_index, p.partition_error_code))
        })
        .collect()
}

fn end(s: &mut std::net::TcpStream, id: &str, producer: (i64, i16), commit: bool) -> i16 {
    let response: EndTxnResponse = wire::call(
        s,
        ApiKey::EndTxn,
        3,
        &EndTxnRequest::default()
            .with_transactional_id(txn_id(id))
            .with_producer_id(ProducerId(producer.0))
            .with_producer_epoch(producer.1)
            .with_committed(commit),
    );
    response.error_code
}

/// Produces `batch` to `topic` partition 0 with acks=all; the partition's code.
fn produce(s: &mut std::net::TcpStream, topic: &str, batch: Vec<u8>) -> i16 {
    let response: ProduceResponse = wire::call(
        s,
        ApiKey::Produce,
        9,
        &ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(10_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(Bytes::from(batch)))])]),
    );
    response.responses[0].partition_responses[0].error_code
}

/// The leader of `topic` partition 0 as broker 1 sees it.
fn leader_of(cluster: &TestCluster, topic: &str) -> u64 {
    cluster.wait_for("a partition leader", WAIT, || {
        support::partitions(&cluster.view(1)?, topic)[0]["leader"].as_u64()
    })
}

#[test]
fn bad_transactional_requests_get_kafkas_error_codes() {
    let cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic("txn-bad", 1, 3);
    const ID: &str = "bad-input";
    let coordinator = cluster.wait_for("a transaction coordinator", WAIT, || {
        txn_coordinator(&cluster, 1, ID)
    });
    let mut s = wire::connect(cluster.brokers[&coordinator].kafka);
    // The coordinator's partition may still be electing: retry until it answers.
    let first = cluster.wait_for("InitProducerId", WAIT, || {
        let r = init(&mut s, ID, 60_000);
        (r.error_code == code::NONE).then_some(r)
    });
    let producer = (first.producer_id.0, first.producer_epoch);

    // A timeout over transaction.max.timeout.ms (900 000 by default).
    assert_eq!(
        init(&mut s, ID, 900_001).error_code,
        code::INVALID_TRANSACTION_TIMEOUT
    );
    // EndTxn with no transaction open.
    assert_eq!(end(&mut s, ID, producer, true), code::INVALID_TXN_STATE);
    // An unknown partition: it is refused, the rest not attempted.
    assert_eq!(
        add(
            &mut s,
            ID,
            producer,
            &[("txn-bad", &[0, 7]), ("no-such-topic", &[0])]
        ),
        vec![
            ("txn-bad".into(), 0, code::OPERATION_NOT_ATTEMPTED),
            ("txn-bad".into(), 7, code::UNKNOWN_TOPIC_OR_PARTITION),
            ("no-such-topic".into(), 0, code::UNKNOWN_TOPIC_OR_PARTITION),
        ]
    );
    assert_eq!(
        add(&mut s, ID, producer, &[("txn-bad", &[0])]),
        vec![("txn-bad".into(), 0, code::NONE)]
    );
    // A foreign producer id, and the right one: commit, then the same
    // commit again (a retry: the same answer), then an abort of it.
    assert_eq!(
        end(&mut s, ID, (producer.0 + 1, producer.1), true),
        code::INVALID_PRODUCER_ID_MAPPING
    );
    assert_eq!(end(&mut s, ID, producer, true), code::NONE);
    let retried = cluster.wait_for("the commit completed", WAIT, || {
        let c = end(&mut s, ID, producer, true);
        (c == code::NONE).then_some(c)
    });
    assert_eq!(retried, code::NONE);
    assert_eq!(end(&mut s, ID, producer, false), code::INVALID_TXN_STATE);

    // A new producer with the same id fences this one: its epoch is old.
    let next = init(&mut s, ID, 60_000);
    assert_eq!(next.error_code, code::NONE);
    assert_eq!(next.producer_epoch, producer.1 + 1);
    assert_eq!(
        add(&mut s, ID, producer, &[("txn-bad", &[0])]),
        vec![("txn-bad".into(), 0, code::PRODUCER_FENCED)]
    );
    assert_eq!(end(&mut s, ID, producer, false), code::PRODUCER_FENCED);

    // The partition refuses the zombie's transactional batch once the new
    // producer's epoch reached it, and any client's control batch.
    let fresh = (next.producer_id.0, next.producer_epoch);
    assert_eq!(
        add(&mut s, ID, fresh, &[("txn-bad", &[0])]),
        vec![("txn-bad".into(), 0, code::NONE)]
    );
    let mut leader = wire::connect(cluster.brokers[&leader_of(&cluster, "txn-bad")].kafka);
    let data = |epoch: i16| {
        cairn_common::batch::transactional(
            cairn_common::batch::build(&[b"v"], 1),
            fresh.0,
            epoch,
            0,
        )
    };
    assert_eq!(produce(&mut leader, "txn-bad", data(fresh.1)), code::NONE);
    assert_eq!(
        produce(&mut leader, "txn-bad", data(producer.1)),
        code::INVALID_PRODUCER_EPOCH
    );
    let control = cairn_common::txn_marker::encode(
        &cairn_common::txn_marker::TxnMarker {
            producer_id: fresh.0,
            producer_epoch: fresh.1,
            commit: true,
            coordinator_epoch: 0,
        },
        1,
    );
    assert_eq!(
        produce(&mut leader, "txn-bad", control),
        code::INVALID_RECORD
    );
    // Nor may a client write markers with WriteTxnMarkers.
    let markers: WriteTxnMarkersResponse = wire::call(
        &mut leader,
        ApiKey::WriteTxnMarkers,
        1,
        &WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
            .with_producer_id(ProducerId(fresh.0))
            .with_producer_epoch(fresh.1)
            .with_transaction_result(true)
            .with_topics(vec![WritableTxnMarkerTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("txn-bad")))
                .with_partition_indexes(vec![0])])]),
    );
    assert_eq!(
        markers.markers[0].topics[0].partitions[0].error_code,
        code::CLUSTER_AUTHORIZATION_FAILED
    );
    assert_eq!(end(&mut s, ID, fresh, false), code::NONE);

    // DescribeTransactions: an unknown id; and at a broker that is not the
    // coordinator.
    let describe = |s: &mut std::net::TcpStream, id: &str| {
        let r: DescribeTransactionsResponse = wire::call(
            s,
            ApiKey::DescribeTransactions,
            0,
            &DescribeTransactionsRequest::default().with_transactional_ids(vec![txn_id(id)]),
        );
        r.transaction_states[0].error_code
    };
    let unknown = "never-used";
    let unknown_at = cluster.wait_for("a transaction coordinator", WAIT, || {
        txn_coordinator(&cluster, 1, unknown)
    });
    let mut at = wire::connect(cluster.brokers[&unknown_at].kafka);
    assert_eq!(describe(&mut at, unknown), code::TRANSACTIONAL_ID_NOT_FOUND);
    let elsewhere = [1, 2, 3].into_iter().find(|b| *b != coordinator).unwrap();
    let mut other = wire::connect(cluster.brokers[&elsewhere].kafka);
    assert_eq!(describe(&mut other, ID), code::NOT_COORDINATOR);

    // The coordinator counted what it decided: the commit (EndTxn), the
    // abort of the fresh producer's transaction (EndTxn), and the marker of
    // each (the abort's is written just after its answer).
    let url = format!("http://{}/metrics", cluster.admin(coordinator));
    let value = |metrics: &str, series: &str| {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let metrics = cluster.wait_for("both markers counted", WAIT, || {
        let text = reqwest::blocking::get(&url).ok()?.text().ok()?;
        (value(&text, "cairn_txn_markers_total") >= 2.0).then_some(text)
    });
    let ended = |outcome: &str| {
        let series = format!("cairn_txn_ended_total{{outcome=\"{outcome}\",cause=\"client\"}}");
        value(&metrics, &series)
    };
    assert_eq!((ended("commit"), ended("abort")), (1.0, 1.0), "{metrics}");
}
