//! The consumer group protocol of KIP-848 (`group.protocol=consumer`) with
//! real clients against a 3-broker cluster started by the test:
//! confluent-kafka members split a topic, a third joins and partitions move
//! incrementally, a member leaves and the others resume at its committed
//! offsets, every record is read exactly once (tests/python/consumer_protocol.py);
//! then the CLI shows the group and its committed offsets.

mod support;

use support::{ok, TestCluster};

#[test]
fn confluent_kafka_members_with_the_consumer_protocol_split_move_and_resume() {
    let cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    let stdout = support::run_client(
        "python3",
        "python/consumer_protocol.py",
        &[&cluster.bootstrap()],
    );
    eprintln!("{stdout}");
    assert!(stdout.contains("consumer protocol ok"), "{stdout}");

    // The CLI (DescribeGroups, OffsetFetch) sees the consumer group.
    let bootstrap = cluster.bootstrap();
    let env = [("CAIRN_BOOTSTRAP", bootstrap.as_str())];
    let list = ok(&support::cli_with_env(&["group", "list"], &env));
    let line = list
        .lines()
        .find(|l| l.starts_with("g-kip848 "))
        .unwrap_or_else(|| panic!("g-kip848 missing from `cairn group list`:\n{list}"));
    assert!(
        line.contains("consumer") && line.contains("uniform"),
        "{line}"
    );
    let described = ok(&support::cli_with_env(
        &["group", "describe", "g-kip848", "--output", "json"],
        &env,
    ));
    let v: serde_json::Value = serde_json::from_str(&described).expect("json");
    assert_eq!(v["state"], "Empty", "{described}");
    assert_eq!(v["protocol_type"], "consumer", "{described}");
    let offsets = v["offsets"].as_array().expect("offsets");
    assert_eq!(offsets.len(), 6, "{described}");
    let committed: i64 = offsets
        .iter()
        .map(|o| o["committed"].as_i64().unwrap())
        .sum();
    assert_eq!(committed, 600, "{described}");
    assert!(offsets.iter().all(|o| o["lag"] == 0), "{described}");
}
