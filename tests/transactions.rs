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
//!   completes or aborts there.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use kafka_protocol::messages::{ApiKey, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;
use support::{wire, TestCluster};

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
        "all ok",
    ] {
        assert!(transcript.contains(step), "no `{step}` in:\n{transcript}");
    }
}

/// The Java client (kafka-clients 3.9.1): a transactional producer commits
/// and aborts; its read_committed consumer reads only what was committed;
/// its Admin client lists and describes the transactional id.
#[test]
fn java_transactions_commit_abort_and_the_admin_client_sees_them() {
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
}
