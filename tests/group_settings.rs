//! The broker's group settings reach the coordinator: a broker started with
//! `offsets_topic_num_partitions`, `group_min_session_timeout_ms`,
//! `group_initial_rebalance_delay_ms` and `group_max_size` (as `CAIRN_*`
//! environment variables) creates `__consumer_offsets` with that many
//! partitions, refuses a session timeout the defaults would accept, forms a
//! group without the initial delay, and refuses a member beyond the limit.
//! Raw Kafka requests show the exact error codes a client acts on. And
//! `offsets_retention_minutes` removes an empty group's offsets, across a
//! restart, once it has passed.

mod support;

use std::net::TcpStream;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, FindCoordinatorResponse, GroupId, JoinGroupRequest,
    JoinGroupResponse,
};
use kafka_protocol::protocol::StrBytes;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use support::wire::{call, connect};
use support::{partitions, TestCluster};

const NONE: i16 = 0;
const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const NOT_COORDINATOR: i16 = 16;
const INVALID_SESSION_TIMEOUT: i16 = 26;
const MEMBER_ID_REQUIRED: i16 = 79;
const GROUP_MAX_SIZE_REACHED: i16 = 81;

const GROUP: &str = "settings-group";

fn join_request(member_id: &str, session_timeout_ms: i32) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
        .with_session_timeout_ms(session_timeout_ms)
        .with_rebalance_timeout_ms(30_000)
        .with_member_id(StrBytes::from_string(member_id.to_owned()))
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::from_static(
                b"\0\0\0\0\0\x01\0\x06topic1\0\0\0\0",
            ))])
}

/// A connection to the group's coordinator, once FindCoordinator names one
/// and it serves (it creates `__consumer_offsets` on the first ask, then
/// applies its group settings before serving).
fn coordinator(cluster: &TestCluster) -> TcpStream {
    let bootstrap_port = cluster.brokers[&1].kafka;
    cluster.wait_for(
        "the group's coordinator serves",
        Duration::from_secs(60),
        || {
            let mut s = connect(bootstrap_port);
            let found: FindCoordinatorResponse = call(
                &mut s,
                ApiKey::FindCoordinator,
                3,
                &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str(GROUP)),
            );
            if found.error_code != NONE {
                return None;
            }
            let mut s = connect(u16::try_from(found.port).ok()?);
            // A JoinGroup the coordinator refuses whatever its settings (no
            // protocols) tells whether it serves yet.
            let probe: JoinGroupResponse = call(
                &mut s,
                ApiKey::JoinGroup,
                5,
                &join_request("", 45_000).with_protocols(vec![]),
            );
            let loading = [
                COORDINATOR_LOAD_IN_PROGRESS,
                COORDINATOR_NOT_AVAILABLE,
                NOT_COORDINATOR,
            ];
            (!loading.contains(&probe.error_code)).then_some(s)
        },
    )
}

#[test]
fn broker_group_settings_decide_the_coordinators_answers() {
    let cluster = TestCluster::start_with_env(
        1,
        &[
            ("CAIRN_OFFSETS_TOPIC_NUM_PARTITIONS", "4"),
            ("CAIRN_GROUP_MIN_SESSION_TIMEOUT_MS", "20000"),
            ("CAIRN_GROUP_INITIAL_REBALANCE_DELAY_MS", "0"),
            ("CAIRN_GROUP_MAX_SIZE", "1"),
        ],
    );
    cluster.wait_formed(1, &[1]);
    let mut s = coordinator(&cluster);

    let view = cluster.view(1).expect("cluster view");
    assert_eq!(
        partitions(&view, "__consumer_offsets").len(),
        4,
        "offsets_topic_num_partitions"
    );

    // 10 s is within Kafka's default bounds (6 s to 30 min), not these.
    let refused: JoinGroupResponse = call(&mut s, ApiKey::JoinGroup, 5, &join_request("", 10_000));
    assert_eq!(refused.error_code, INVALID_SESSION_TIMEOUT);

    let first: JoinGroupResponse = call(&mut s, ApiKey::JoinGroup, 5, &join_request("", 20_000));
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
    let member = first.member_id.to_string();
    // No initial delay: the only member's join completes the join phase at
    // the next coordinator tick instead of 3 s later (not timed here: the
    // answer within the socket's read timeout is what shows it).
    let joined: JoinGroupResponse =
        call(&mut s, ApiKey::JoinGroup, 5, &join_request(&member, 20_000));
    assert_eq!(joined.error_code, NONE, "{joined:?}");
    assert_eq!(
        (joined.generation_id, joined.leader.to_string()),
        (1, member)
    );

    // group_max_size = 1: a second member is refused at once (as Kafka
    // does, before it would hand out a member id).
    let second: JoinGroupResponse = call(&mut s, ApiKey::JoinGroup, 5, &join_request("", 20_000));
    assert_eq!(second.error_code, GROUP_MAX_SIZE_REACHED, "{second:?}");
}

#[test]
fn invalid_group_settings_stop_the_broker_with_the_setting_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::cli_with_env(
        &[
            "broker",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--group-min-session-timeout-ms",
            "60000",
            "--group-max-session-timeout-ms",
            "30000",
        ],
        &[],
    );
    let stderr = support::fails(&out);
    assert!(
        stderr.contains(
            "group_max_session_timeout_ms 30000 is below group_min_session_timeout_ms 60000"
        ),
        "{stderr}"
    );
}

fn committer(bootstrap: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", RETAINED)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap()
}

/// The group's committed offset of `kept`/0 as a client reads it; `None`
/// while the coordinator does not answer.
fn committed(bootstrap: &str) -> Option<Offset> {
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition("kept", 0);
    let got = committer(bootstrap)
        .committed_offsets(tpl, Duration::from_secs(10))
        .ok()?;
    Some(got.find_partition("kept", 0)?.offset())
}

const RETAINED: &str = "retained-group";

/// `offsets_retention_minutes`: the offsets of a group with no members are
/// kept across a restart, then removed once the retention has passed since
/// the commit (decided from entry timestamps on every replica), and the
/// group goes with them.
#[test]
fn offsets_of_an_empty_group_expire_after_the_retention_even_across_a_restart() {
    let mut cluster = TestCluster::start_with_env(
        1,
        &[
            ("CAIRN_OFFSETS_RETENTION_MINUTES", "1"),
            ("CAIRN_OFFSETS_RETENTION_CHECK_INTERVAL_MS", "500"),
        ],
    );
    cluster.wait_formed(1, &[1]);
    support::ok(&cluster.cli(1, &["topic", "create", "kept", "-p", "1", "-r", "1"]));
    let bootstrap = cluster.bootstrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset("kept", 0, Offset::Offset(5))
        .unwrap();
    let consumer = committer(&bootstrap);
    cluster.wait_for("the commit acknowledged", Duration::from_secs(60), || {
        consumer.commit(&tpl, CommitMode::Sync).ok()
    });
    drop(consumer);
    assert_eq!(committed(&bootstrap), Some(Offset::Offset(5)));

    cluster.kill(1);
    cluster.spawn(1);
    cluster.wait_formed(1, &[1]);
    let after_restart = cluster.wait_for(
        "the coordinator after the restart",
        Duration::from_secs(60),
        || committed(&bootstrap),
    );
    assert_eq!(
        after_restart,
        Offset::Offset(5),
        "the offset is kept until the retention passes"
    );

    cluster.wait_for("the offset to expire", Duration::from_secs(150), || {
        (committed(&bootstrap)? == Offset::Invalid).then_some(())
    });
    let env = [("CAIRN_BOOTSTRAP", bootstrap.as_str())];
    let list = support::ok(&support::cli_with_env(&["group", "list"], &env));
    assert!(
        !list.contains(RETAINED),
        "the group went with its offsets:\n{list}"
    );
}
