//! Leadership balancing against real brokers. A broker stopped with
//! SIGTERM hands its leaderships to other replicas; when it comes back:
//!
//! - with `auto_leader_rebalance_enable` (the default) the controller's
//!   periodic check moves them back to it, the preferred replica, once it
//!   is in sync;
//! - with it off, nothing moves until asked: kafka-python's
//!   `elect_leaders` (ElectLeaders PREFERRED) or `cairn cluster
//!   rebalance-leaders` moves them, and raw ElectLeaders requests get the
//!   right error for an unknown partition, a partition led by its preferred
//!   replica already, and an unclean election.

mod support;

use std::time::{Duration, Instant};

use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{ApiKey, ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use serde_json::Value;

use support::wire::{call, connect};
use support::{ok, partitions, run_client, TestCluster};

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const ELECTION_NOT_NEEDED: i16 = 84;

/// A partition as `/v1/cluster` shows it: (partition, leader, preferred
/// replica, ISR).
type Seen = (u64, Option<u64>, u64, Vec<u64>);

/// Every partition of `topic` as broker `via` sees it.
fn leaders(cluster: &TestCluster, via: u64, topic: &str) -> Option<Vec<Seen>> {
    let view = cluster.view(via)?;
    partitions(&view, topic)
        .into_iter()
        .map(|p| {
            Some((
                p["partition"].as_u64()?,
                p["leader"].as_u64(),
                p["replicas"][0].as_u64()?,
                support::ids(&p["isr"]),
            ))
        })
        .collect()
}

/// Waits until every partition of `topic` is led by its preferred replica.
fn wait_preferred(cluster: &TestCluster, via: u64, topic: &str, timeout: Duration) {
    cluster.wait_for(
        "every partition led by its preferred replica",
        timeout,
        || {
            let ps = leaders(cluster, via, topic)?;
            (!ps.is_empty() && ps.iter().all(|(_, l, pref, _)| *l == Some(*pref))).then_some(())
        },
    );
}

/// SIGTERMs broker `id` (it hands its leaderships over), starts it again,
/// and waits until it is in sync in every partition of `topic`.
fn restart(cluster: &mut TestCluster, id: u64, topic: &str) {
    let status = cluster
        .terminate(id, Duration::from_secs(30))
        .expect("SIGTERM stops the broker");
    assert!(status.success(), "broker {id} exited with {status}");
    cluster.spawn(id);
    let via = 1 + id % 3;
    cluster.wait_formed(via, &[1, 2, 3]);
    cluster.wait_for(
        "the restarted broker in every ISR",
        Duration::from_secs(30),
        || {
            let ps = leaders(cluster, via, topic)?;
            ps.iter()
                .all(|(_, l, _, isr)| l.is_some() && isr.contains(&id))
                .then_some(())
        },
    );
}

/// How many partitions of `topic` broker `id` leads.
fn led_by(cluster: &TestCluster, via: u64, topic: &str, id: u64) -> usize {
    leaders(cluster, via, topic)
        .unwrap()
        .iter()
        .filter(|(_, l, _, _)| *l == Some(id))
        .count()
}

#[test]
fn the_controller_moves_leaderships_back_after_a_restart() {
    const TOPIC: &str = "auto-balance";
    let mut cluster =
        TestCluster::start_with_env(3, &[("CAIRN_LEADER_IMBALANCE_CHECK_INTERVAL_SECONDS", "2")]);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic(TOPIC, 6, 3);
    wait_preferred(&cluster, 1, TOPIC, Duration::from_secs(60));
    for id in [1, 3] {
        restart(&mut cluster, id, TOPIC);
        let back = Instant::now();
        wait_preferred(&cluster, 1 + id % 3, TOPIC, Duration::from_secs(60));
        println!(
            "broker {id}: every leadership back {:.1} s after it was in sync again (check every 2 s)",
            back.elapsed().as_secs_f64()
        );
    }
    let moved: Vec<String> = (1..=3)
        .flat_map(|id| {
            std::fs::read_to_string(cluster.log_path(id))
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|l| l.contains("leader balance: moved"))
        .collect();
    assert!(!moved.is_empty(), "no broker logged a balance move");
}

fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

/// The (partition, error code) answers of an ElectLeaders request at `version`.
fn elect(
    port: u16,
    version: i16,
    election_type: i8,
    topic: &str,
    partitions: Vec<i32>,
) -> Vec<(i32, i16)> {
    let response: ElectLeadersResponse = call(
        &mut connect(port),
        ApiKey::ElectLeaders,
        version,
        &ElectLeadersRequest::default()
            .with_election_type(election_type)
            .with_topic_partitions(Some(vec![TopicPartitions::default()
                .with_topic(topic_name(topic))
                .with_partitions(partitions)]))
            .with_timeout_ms(10_000),
    );
    assert_eq!(response.error_code, 0);
    response
        .replica_election_results
        .iter()
        .flat_map(|t| {
            t.partition_result
                .iter()
                .map(|p| (p.partition_id, p.error_code))
        })
        .collect()
}

#[test]
fn leaderships_move_back_when_asked_and_only_then_with_auto_balance_off() {
    const TOPIC: &str = "manual-balance";
    let mut cluster =
        TestCluster::start_with_env(3, &[("CAIRN_AUTO_LEADER_REBALANCE_ENABLE", "false")]);
    cluster.wait_formed(1, &[1, 2, 3]);
    cluster.create_topic(TOPIC, 3, 3);
    // Start balanced (the first elections need not pick the preferred
    // replica, and a new replica may not be in sync yet).
    cluster.wait_for("a balanced start", Duration::from_secs(30), || {
        ok(&cluster.cli(1, &["cluster", "rebalance-leaders"]));
        let ps = leaders(&cluster, 1, TOPIC)?;
        ps.iter()
            .all(|(_, l, pref, _)| *l == Some(*pref))
            .then_some(())
    });
    let port = cluster.brokers[&2].kafka;

    // Errors, by raw requests: every version, both election types.
    for version in 0..=2 {
        assert_eq!(
            elect(port, version, 0, TOPIC, vec![0, 1, 99]),
            vec![
                (0, ELECTION_NOT_NEEDED),
                (1, ELECTION_NOT_NEEDED),
                (99, UNKNOWN_TOPIC_OR_PARTITION)
            ],
            "v{version}"
        );
    }
    assert_eq!(
        elect(port, 1, 0, "no-such-topic", vec![0]),
        vec![(0, UNKNOWN_TOPIC_OR_PARTITION)]
    );
    // Raft never elects an unclean leader; a led partition needs none.
    assert_eq!(
        elect(port, 2, 1, TOPIC, vec![2]),
        vec![(2, ELECTION_NOT_NEEDED)]
    );

    // Broker 1 restarts: its leaderships stay away until asked for.
    restart(&mut cluster, 1, TOPIC);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        led_by(&cluster, 2, TOPIC, 1),
        0,
        "nothing moved back by itself"
    );
    let preferred_1 = leaders(&cluster, 2, TOPIC)
        .unwrap()
        .iter()
        .filter(|(_, _, pref, _)| *pref == 1)
        .count();
    assert!(preferred_1 > 0);

    // kafka-python's elect_leaders for every partition (it names each):
    // those of broker 1 move; the others need no election.
    let out = run_client(
        "python3",
        "python/elect_leaders.py",
        &[&cluster.bootstrap()],
    );
    let answer: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(answer["error_code"], 0, "{answer}");
    let codes: Vec<i64> = answer["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p[0] == TOPIC)
        .map(|p| p[2].as_i64().unwrap())
        .collect();
    assert_eq!(codes.len(), 3, "{answer}");
    assert_eq!(
        codes.iter().filter(|c| **c == 0).count(),
        preferred_1,
        "{answer}"
    );
    assert!(
        codes
            .iter()
            .all(|c| *c == 0 || *c == i64::from(ELECTION_NOT_NEEDED)),
        "{answer}"
    );
    // The answer came once the transfers had happened.
    wait_preferred(&cluster, 2, TOPIC, Duration::from_secs(5));

    // Broker 3 restarts; the CLI moves its leaderships back.
    restart(&mut cluster, 3, TOPIC);
    let preferred_3 = leaders(&cluster, 1, TOPIC)
        .unwrap()
        .iter()
        .filter(|(_, _, pref, _)| *pref == 3)
        .count();
    assert_eq!(led_by(&cluster, 1, TOPIC, 3), 0);
    let out = ok(&cluster.cli(
        1,
        &[
            "cluster",
            "rebalance-leaders",
            "--topic",
            TOPIC,
            "--output",
            "json",
        ],
    ));
    let view: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(view["moved"], preferred_3, "{view}");
    assert_eq!(view["not_moved"], 0, "{view}");
    wait_preferred(&cluster, 1, TOPIC, Duration::from_secs(5));
    let table = ok(&cluster.cli(1, &["cluster", "rebalance-leaders"]));
    assert!(
        table.contains("0 moved to their preferred replica"),
        "{table}"
    );
    // Every partition (a null list): those that need nothing are left out.
    let everything: ElectLeadersResponse = call(
        &mut connect(port),
        ApiKey::ElectLeaders,
        2,
        &ElectLeadersRequest::default()
            .with_election_type(0)
            .with_topic_partitions(None)
            .with_timeout_ms(10_000),
    );
    assert_eq!(everything.error_code, 0);
    assert!(
        everything
            .replica_election_results
            .iter()
            .all(|t| t.partition_result.is_empty()),
        "{everything:?}"
    );
    let status = ok(&cluster.cli(1, &["cluster", "status"]));
    assert!(status.contains("LEADS/PREFERRED"), "{status}");

    // A topic that does not exist is named.
    let out = cluster.cli(1, &["cluster", "rebalance-leaders", "--topic", "nope"]);
    let err = support::fails(&out);
    assert!(err.contains("'nope'"), "{err}");
}
