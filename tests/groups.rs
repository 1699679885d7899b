//! Consumer groups with real clients against a 3-broker cluster started by
//! the test: confluent-kafka, kafka-python, aiokafka and kafkajs consumers
//! with a group id,
//! committed offsets that a new member resumes from, two members splitting
//! six partitions (tests/python/groups.py), and the coordinator's partition
//! leader SIGKILLed while a group commits.

mod support;

use support::TestCluster;

#[test]
fn python_consumers_in_groups_read_commit_resume_and_split() {
    let cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    let stdout = support::run_client("python3", "python/groups.py", &[&cluster.bootstrap()]);
    assert!(stdout.contains("groups ok"), "{stdout}");
    eprintln!("{stdout}");

    // kafkajs (npm, installed into tests/js by scripts/setup.sh) reads the
    // same topic in its own group.
    let stdout = support::run_client(
        "node",
        "js/group.js",
        &[&cluster.bootstrap(), "grouped", "g-kafkajs", "600"],
    );
    assert!(stdout.contains("kafkajs read 600"), "{stdout}");

    // The CLI sees the groups and the committed offsets with their lag.
    let bootstrap = cluster.bootstrap();
    let env = [("CAIRN_BOOTSTRAP", bootstrap.as_str())];
    let list = ok(&support::cli_with_env(&["group", "list"], &env));
    for group in ["g-confluent", "g-kafka-python", "g-aiokafka", "g-kafkajs"] {
        assert!(
            list.contains(group),
            "{group} missing from `cairn group list`:\n{list}"
        );
    }
    let v = support::describe_group(&bootstrap, "g-confluent");
    assert_eq!(v["state"], "Empty", "{v}");
    let offsets = support::group_offsets(&v);
    assert_eq!(offsets.len(), 6, "{v}");
    assert_eq!(offsets.iter().map(|o| o.1).sum::<i64>(), 600, "{v}");
    assert!(offsets.iter().all(|o| o.2 == 0), "{v}");
    let missing = support::cli_with_env(&["group", "describe", "no-such-group"], &env);
    assert!(support::fails(&missing).contains("no-such-group"));

    // The admin API: every broker lists every group (each asks its peers),
    // and describes one from its coordinator, wherever that is.
    for id in 1..=3 {
        let v = cluster.get(id, "/v1/groups").expect("GET /v1/groups");
        let listed: Vec<&str> = v["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| g["group_id"].as_str().unwrap())
            .collect();
        for group in ["g-confluent", "g-kafka-python", "g-aiokafka", "g-kafkajs"] {
            assert!(listed.contains(&group), "broker {id}: {group} missing: {v}");
        }
        assert_eq!(v["unreachable"].as_array().map(Vec::len), Some(0), "{v}");
        let d = cluster
            .get(id, "/v1/groups/g-confluent")
            .expect("GET /v1/groups/g-confluent");
        assert_eq!(d["state"], "Empty", "{d}");
        let committed: i64 = d["offsets"]
            .as_array()
            .expect("offsets")
            .iter()
            .map(|o| o["committed"].as_i64().unwrap())
            .sum();
        assert_eq!(committed, 600, "{d}");
    }
    // The cluster view shows each broker's own replicas of __consumer_offsets
    // (their offsets are Raft log indexes): the groups above were applied there.
    for id in 1..=3 {
        let view = cluster.view(id).expect("GET /v1/cluster");
        let local: Vec<&serde_json::Value> = partitions(&view, "__consumer_offsets")
            .into_iter()
            .filter_map(|p| p.get("local"))
            .collect();
        assert!(
            !local.is_empty(),
            "broker {id} hosts no offsets replica: {view}"
        );
        assert!(
            local.iter().any(|l| l["high_watermark"].as_u64() > Some(0)),
            "broker {id}: {local:?}"
        );
        assert!(local.iter().all(|l| l["size_bytes"] == 0), "{local:?}");
    }
    let url = format!("http://{}/v1/groups/no-such-group", cluster.admin(2));
    let answer = reqwest::blocking::get(&url).expect("GET");
    assert_eq!(answer.status().as_u16(), 404);
    let body: serde_json::Value = answer.json().expect("json");
    assert_eq!(body["error"]["code"], "GROUP_ID_NOT_FOUND", "{body}");
}

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use support::{ok, partitions};

const WAIT: Duration = Duration::from_secs(60);

fn committer(bootstrap: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap()
}

/// Commits `offset` for `topic`/0 synchronously, retrying until it is
/// acknowledged or `WAIT` passes; returns whether it was acknowledged.
fn commit(consumer: &BaseConsumer, topic: &str, offset: i64) -> bool {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Offset(offset))
        .unwrap();
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if consumer.commit(&tpl, CommitMode::Sync).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn committed(bootstrap: &str, group: &str, topic: &str) -> Option<i64> {
    let consumer = committer(bootstrap, group);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let got = consumer.committed_offsets(tpl, WAIT).ok()?;
    match got.find_partition(topic, 0)?.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}

/// An acknowledged OffsetCommit survives the SIGKILL of its coordinator's
/// broker and a restart of every broker, and never moves backwards.
#[test]
fn acknowledged_commits_survive_the_coordinator_kill_and_a_full_restart() {
    let mut cluster = TestCluster::start(3);
    cluster.wait_formed(1, &[1, 2, 3]);
    ok(&cluster.cli(1, &["topic", "create", "ledger", "-p", "1", "-r", "3"]));
    let bootstrap = cluster.bootstrap();
    let group = "g-kill";
    let consumer = committer(&bootstrap, group);
    let mut last_acked = -1;
    for offset in 1..=20 {
        assert!(
            commit(&consumer, "ledger", offset),
            "commit {offset} not acknowledged"
        );
        last_acked = offset;
    }
    // The coordinator: the leader of the __consumer_offsets partition the group hashes to.
    let partition = cairn_coordinator::offsets_partition_for(group, NonZeroU32::new(16).unwrap());
    let coordinator = cluster.wait_for("the coordinator's leader", WAIT, || {
        let view = cluster.view(1)?;
        partitions(&view, "__consumer_offsets").get(partition as usize)?["leader"].as_u64()
    });
    cluster.kill(coordinator);
    for offset in 21..=40 {
        assert!(
            commit(&consumer, "ledger", offset),
            "commit {offset} not acknowledged after the kill"
        );
        last_acked = offset;
        let seen = committed(&bootstrap, group, "ledger").expect("committed offset readable");
        assert!(
            seen >= last_acked,
            "committed offset went back to {seen} after {last_acked} was acknowledged"
        );
    }
    drop(consumer);
    cluster.spawn(coordinator);
    for id in [1, 2, 3] {
        cluster.kill(id);
    }
    for id in [1, 2, 3] {
        cluster.spawn(id);
    }
    cluster.wait_formed(1, &[1, 2, 3]);
    let bootstrap = cluster.bootstrap();
    let after = cluster.wait_for("the committed offset after a full restart", WAIT, || {
        committed(&bootstrap, group, "ledger")
    });
    assert_eq!(
        after, last_acked,
        "the last acknowledged commit after a restart of every broker"
    );
}
