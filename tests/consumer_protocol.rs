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
    let v = support::describe_group(&bootstrap, "g-kip848");
    assert_eq!(v["state"], "Empty", "{v}");
    assert_eq!(v["protocol_type"], "consumer", "{v}");
    let offsets = support::group_offsets(&v);
    assert_eq!(offsets.len(), 6, "{v}");
    assert_eq!(offsets.iter().map(|o| o.1).sum::<i64>(), 600, "{v}");
    assert!(offsets.iter().all(|o| o.2 == 0), "{v}");
}
