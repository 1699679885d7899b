//! The group API versions at the edges of the served ranges, against a real
//! coordinator in memory: JoinGroup v8-v9 (reason, `skip_assignment`),
//! LeaveGroup v5, OffsetCommit v0-v1 (read by hand) and v9, OffsetFetch v0
//! and v8-v9 (batched groups), ListGroups v5 (types).

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use cairn_coordinator::subscription::encode_subscription;
use cairn_kafka::error_code;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;

use crate::groups::{join_request, parked, s, settle, two_member_group, GROUP, INITIAL_DELAY_MS};
use crate::memory_cluster::{MemoryCluster, THIS_BROKER};
use crate::memory_groups::ELSEWHERE_GROUP;
use crate::wire::{answered, answered_raw, cluster};

/// The version whose response OffsetCommit v0 and v1 share.
const COMMIT_RESPONSE_WIRE_VERSION: i16 = 2;

fn topic(name: &str) -> TopicName {
    TopicName(s(name))
}

/// A cluster with topic `t` of two partitions led here.
fn cluster_with_topic() -> Arc<MemoryCluster> {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER), Some(THIS_BROKER)]);
    cluster
}

fn put_string(buf: &mut BytesMut, s: Option<&str>) {
    match s {
        Some(s) => {
            buf.put_i16(s.len() as i16);
            buf.put_slice(s.as_bytes());
        }
        None => buf.put_i16(-1),
    }
}

/// An OffsetCommit v0 or v1 body committing `offset` to partitions 0 and 1
/// of `t`, as an old client encodes it (kafka-protocol 0.18 has no encoder
/// for these versions). v1 carries `member` (id, generation).
fn legacy_commit(version: i16, group: &str, member: (&str, i32), offset: i64) -> Bytes {
    let mut buf = BytesMut::new();
    put_string(&mut buf, Some(group));
    if version == 1 {
        buf.put_i32(member.1);
        put_string(&mut buf, Some(member.0));
    }
    buf.put_i32(1);
    put_string(&mut buf, Some("t"));
    buf.put_i32(2);
    for partition in [0, 1] {
        buf.put_i32(partition);
        buf.put_i64(offset + i64::from(partition));
        if version == 1 {
            buf.put_i64(1_600_000_000_000); // commit timestamp, ignored
        }
        put_string(&mut buf, Some("legacy"));
    }
    buf.freeze()
}

async fn commit_legacy(
    cluster: &Arc<MemoryCluster>,
    version: i16,
    group: &str,
    member: (&str, i32),
    offset: i64,
) -> Vec<(i32, i16)> {
    let body = legacy_commit(version, group, member, offset);
    let response: OffsetCommitResponse = answered_raw(
        cluster,
        ApiKey::OffsetCommit,
        version,
        &body,
        COMMIT_RESPONSE_WIRE_VERSION,
    )
    .await;
    assert_eq!(response.topics.len(), 1, "v{version}");
    assert_eq!(response.topics[0].name.as_str(), "t");
    response.topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.error_code))
        .collect()
}

fn commit(group: &str, member: &str, generation: i32, offset: i64) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(topic("t"))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)])])
}

async fn commit_code(
    cluster: &Arc<MemoryCluster>,
    version: i16,
    request: &OffsetCommitRequest,
) -> i16 {
    let response: OffsetCommitResponse =
        answered(cluster, ApiKey::OffsetCommit, version, request).await;
    response.topics[0].partitions[0].error_code
}

/// OffsetFetch v0-v7 of partitions 0 and 1 of `t`: (partition, offset, metadata, error).
async fn fetch_one(
    cluster: &Arc<MemoryCluster>,
    version: i16,
    group: &str,
) -> Vec<(i32, i64, String, i16)> {
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_topics(Some(vec![OffsetFetchRequestTopic::default()
            .with_name(topic("t"))
            .with_partition_indexes(vec![0, 1])]));
    // v0 is v1 on the wire: the client encodes and decodes it as v1.
    let wire_version = version.max(1);
    let response: OffsetFetchResponse = crate::wire::answered_raw(
        cluster,
        ApiKey::OffsetFetch,
        version,
        &encoded(&request, wire_version),
        wire_version,
    )
    .await;
    response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter())
        .map(|p| {
            (
                p.partition_index,
                p.committed_offset,
                p.metadata.as_deref().unwrap_or("<null>").to_string(),
                p.error_code,
            )
        })
        .collect()
}

fn encoded<R: kafka_protocol::protocol::Encodable>(request: &R, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    request.encode(&mut buf, version).unwrap();
    buf.freeze()
}

#[tokio::test]
async fn offset_commit_v0_and_v1_commit_to_the_store_every_version_reads() {
    let cluster = cluster_with_topic();
    // v0: a commit outside group management, to a group nobody is in.
    assert_eq!(
        commit_legacy(&cluster, 0, "legacy", ("", -1), 10).await,
        vec![(0, error_code::NONE), (1, error_code::NONE)]
    );
    let committed = |offset: i64| {
        vec![
            (0, offset, "legacy".to_string(), error_code::NONE),
            (1, offset + 1, "legacy".to_string(), error_code::NONE),
        ]
    };
    for version in [0, 1, 7] {
        assert_eq!(
            fetch_one(&cluster, version, "legacy").await,
            committed(10),
            "OffsetFetch v{version} reads the v0 commit"
        );
    }
    // v1 without a member is the same kind of commit; its timestamp is ignored.
    assert_eq!(
        commit_legacy(&cluster, 1, "legacy", ("", -1), 20).await,
        vec![(0, error_code::NONE), (1, error_code::NONE)]
    );
    assert_eq!(fetch_one(&cluster, 0, "legacy").await, committed(20));

    // A group with members takes a v0 commit from none of them as a stranger's...
    let (leader, _, generation) = two_member_group(&cluster).await;
    assert_eq!(
        commit_legacy(&cluster, 0, GROUP, ("", -1), 5).await,
        vec![
            (0, error_code::UNKNOWN_MEMBER_ID),
            (1, error_code::UNKNOWN_MEMBER_ID)
        ]
    );
    // ...and checks v1's member and generation as v2+ does.
    assert_eq!(
        commit_legacy(&cluster, 1, GROUP, (&leader, generation + 1), 5).await,
        vec![
            (0, error_code::ILLEGAL_GENERATION),
            (1, error_code::ILLEGAL_GENERATION)
        ]
    );
    assert_eq!(
        commit_legacy(&cluster, 1, GROUP, (&leader, generation), 5).await,
        vec![(0, error_code::NONE), (1, error_code::NONE)]
    );
    assert_eq!(fetch_one(&cluster, 0, GROUP).await, committed(5));

    // An unknown topic is refused here, as at every version.
    let mut unknown_topic = BytesMut::new();
    put_string(&mut unknown_topic, Some("legacy"));
    unknown_topic.put_i32(1);
    put_string(&mut unknown_topic, Some("missing"));
    unknown_topic.put_i32(1);
    unknown_topic.put_i32(0);
    unknown_topic.put_i64(1);
    put_string(&mut unknown_topic, None);
    let response: OffsetCommitResponse = answered_raw(
        &cluster,
        ApiKey::OffsetCommit,
        0,
        &unknown_topic,
        COMMIT_RESPONSE_WIRE_VERSION,
    )
    .await;
    assert_eq!(
        response.topics[0].partitions[0].error_code,
        error_code::UNKNOWN_TOPIC_OR_PARTITION
    );
}

#[tokio::test]
async fn offset_commit_v9_names_a_missing_group_where_v8_blames_the_generation() {
    let cluster = cluster_with_topic();
    // A generation for a group that does not exist.
    let stray = commit("no-such-group", "m-1", 3, 1);
    assert_eq!(
        commit_code(&cluster, 8, &stray).await,
        error_code::ILLEGAL_GENERATION
    );
    assert_eq!(
        commit_code(&cluster, 9, &stray).await,
        error_code::GROUP_ID_NOT_FOUND
    );
    // Without a generation, v9 creates the group as every version does.
    assert_eq!(
        commit_code(&cluster, 9, &commit("no-such-group", "", -1, 1)).await,
        error_code::NONE
    );
    // In a classic group the v9 "member epoch" is the generation.
    let (leader, follower, generation) = two_member_group(&cluster).await;
    assert_eq!(
        commit_code(&cluster, 9, &commit(GROUP, &leader, generation, 7)).await,
        error_code::NONE
    );
    assert_eq!(
        commit_code(&cluster, 9, &commit(GROUP, &follower, generation + 1, 7)).await,
        error_code::ILLEGAL_GENERATION
    );
    assert_eq!(
        commit_code(&cluster, 9, &commit(GROUP, "nobody", generation, 7)).await,
        error_code::UNKNOWN_MEMBER_ID
    );
    let elsewhere = commit(ELSEWHERE_GROUP, "", -1, 1);
    assert_eq!(
        commit_code(&cluster, 9, &elsewhere).await,
        error_code::NOT_COORDINATOR
    );
}

/// (topic, partition, offset) of one partition.
type Offset = (String, i32, i64);

/// (group, error, offsets) of each group of a batched OffsetFetch.
fn groups_fetched(response: &OffsetFetchResponse) -> Vec<(String, i16, Vec<Offset>)> {
    response
        .groups
        .iter()
        .map(|g| {
            let partitions = g
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions
                        .iter()
                        .map(|p| (t.name.to_string(), p.partition_index, p.committed_offset))
                })
                .collect();
            (g.group_id.to_string(), g.error_code, partitions)
        })
        .collect()
}

#[tokio::test]
async fn offset_fetch_v8_and_v9_read_each_group_from_its_own_coordinator() {
    let cluster = cluster_with_topic();
    let (leader, _, generation) = two_member_group(&cluster).await;
    assert_eq!(
        commit_code(&cluster, 8, &commit(GROUP, &leader, generation, 42)).await,
        error_code::NONE
    );
    assert_eq!(
        commit_code(&cluster, 8, &commit("standalone", "", -1, 9)).await,
        error_code::NONE
    );
    let named = |group: &str| {
        OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(topic("t"))
                .with_partition_indexes(vec![0, 1])]))
    };
    let t = |partition, offset| ("t".to_string(), partition, offset);
    let expected = vec![
        (
            GROUP.to_string(),
            error_code::NONE,
            vec![t(0, 42), t(1, -1)],
        ),
        // Topics null: every committed partition.
        ("standalone".to_string(), error_code::NONE, vec![t(0, 9)]),
        // A group that does not exist has no offsets, and that is no error.
        (
            "unknown".to_string(),
            error_code::NONE,
            vec![t(0, -1), t(1, -1)],
        ),
        // A group coordinated elsewhere gets its own error and no topics.
        (
            ELSEWHERE_GROUP.to_string(),
            error_code::NOT_COORDINATOR,
            vec![],
        ),
    ];
    for version in [8, 9] {
        let mut groups = vec![
            named(GROUP),
            OffsetFetchRequestGroup::default()
                .with_group_id(GroupId(s("standalone")))
                .with_topics(None),
            named("unknown"),
            named(ELSEWHERE_GROUP),
        ];
        if version == 9 {
            // A classic group does not check the KIP-848 member fields.
            groups[0] = groups[0]
                .clone()
                .with_member_id(Some(s("not-a-member")))
                .with_member_epoch(77);
        }
        let response: OffsetFetchResponse = answered(
            &cluster,
            ApiKey::OffsetFetch,
            version,
            &OffsetFetchRequest::default()
                .with_groups(groups)
                .with_require_stable(true),
        )
        .await;
        assert_eq!(
            groups_fetched(&response),
            expected,
            "OffsetFetch v{version}"
        );
        let metadata = response.groups[0].topics[0].partitions[0]
            .metadata
            .as_deref();
        assert_eq!(metadata, Some(""), "v{version}");
    }
}

#[tokio::test]
async fn offset_fetch_v0_answers_as_v1() {
    let cluster = cluster_with_topic();
    assert_eq!(
        fetch_one(&cluster, 0, "nobody-committed").await,
        vec![
            (0, -1, String::new(), error_code::NONE),
            (1, -1, String::new(), error_code::NONE)
        ]
    );
    // The coordinator's error is each partition's, as in v1.
    assert_eq!(
        fetch_one(&cluster, 0, ELSEWHERE_GROUP).await,
        vec![
            (0, -1, String::new(), error_code::NOT_COORDINATOR),
            (1, -1, String::new(), error_code::NOT_COORDINATOR)
        ]
    );
}

fn static_join(instance: &str, member_id: &str) -> JoinGroupRequest {
    join_request(member_id)
        .with_group_instance_id(Some(s(instance)))
        .with_reason(Some(s("starting up")))
}

#[tokio::test]
async fn join_group_v9_tells_a_rejoining_static_leader_to_skip_the_assignment() {
    let cluster = cluster();
    // A static member joins at once (no MEMBER_ID_REQUIRED) and leads.
    let joining = parked(&cluster, ApiKey::JoinGroup, 9, static_join("i-1", "")).await;
    for _ in 0..10 {
        if cluster.groups.parked() == 0 {
            break;
        }
        cluster.groups.advance(INITIAL_DELAY_MS);
    }
    let joined: JoinGroupResponse = settle(joining).await;
    assert_eq!(joined.error_code, error_code::NONE);
    assert_eq!(joined.leader, joined.member_id);
    assert!(
        !joined.skip_assignment,
        "a new generation needs an assignment"
    );
    let first_id = joined.member_id.to_string();
    let synced: SyncGroupResponse = answered(
        &cluster,
        ApiKey::SyncGroup,
        5,
        &SyncGroupRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_generation_id(joined.generation_id)
            .with_member_id(s(&first_id))
            .with_group_instance_id(Some(s("i-1")))
            .with_assignments(vec![SyncGroupRequestAssignment::default()
                .with_member_id(s(&first_id))
                .with_assignment(Bytes::from_static(b"all of t"))]),
    )
    .await;
    assert_eq!(synced.error_code, error_code::NONE);

    // The leader restarts: v9 answers at once, names it leader with every
    // member, and says the current assignment stands.
    let v9: JoinGroupResponse =
        answered(&cluster, ApiKey::JoinGroup, 9, &static_join("i-1", "")).await;
    assert_eq!(v9.error_code, error_code::NONE);
    assert_eq!(v9.generation_id, joined.generation_id, "no rebalance");
    assert_ne!(v9.member_id.as_str(), first_id);
    assert_eq!(v9.leader, v9.member_id);
    assert!(v9.skip_assignment);
    let members: Vec<_> = v9.members.iter().map(|m| m.member_id.to_string()).collect();
    assert_eq!(members, vec![v9.member_id.to_string()]);

    // v8 has no skip_assignment: the leader is named by its old id so that
    // the client does not assign again.
    let v8: JoinGroupResponse =
        answered(&cluster, ApiKey::JoinGroup, 8, &static_join("i-1", "")).await;
    assert_eq!(v8.error_code, error_code::NONE);
    assert_eq!(v8.generation_id, joined.generation_id);
    assert_eq!(v8.leader, v9.member_id, "the leader before this rejoin");
    assert_ne!(v8.member_id, v9.member_id);
    assert!(v8.members.is_empty());
}

#[tokio::test]
async fn leave_group_v5_takes_a_reason_per_member() {
    let cluster = cluster();
    let (leader, follower, _) = two_member_group(&cluster).await;
    let member = |id: &str, reason: Option<&str>| {
        MemberIdentity::default()
            .with_member_id(s(id))
            .with_reason(reason.map(s))
    };
    let left: LeaveGroupResponse = answered(
        &cluster,
        ApiKey::LeaveGroup,
        5,
        &LeaveGroupRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_members(vec![
                member(&leader, Some("the consumer is being closed")),
                member(&follower, None),
                member("nobody", Some("stale")),
            ]),
    )
    .await;
    assert_eq!(left.error_code, error_code::NONE);
    let per_member: Vec<_> = left
        .members
        .iter()
        .map(|m| (m.member_id.to_string(), m.error_code))
        .collect();
    assert_eq!(
        per_member,
        vec![
            (leader, error_code::NONE),
            (follower, error_code::NONE),
            ("nobody".to_string(), error_code::UNKNOWN_MEMBER_ID),
        ]
    );
    let described: DescribeGroupsResponse = answered(
        &cluster,
        ApiKey::DescribeGroups,
        5,
        &DescribeGroupsRequest::default().with_groups(vec![GroupId(s(GROUP))]),
    )
    .await;
    assert_eq!(described.groups[0].group_state.as_str(), "Empty");
}

#[tokio::test]
async fn list_groups_v5_filters_by_type_and_reports_classic() {
    let cluster = cluster();
    two_member_group(&cluster).await;
    let list = |types: &[&str], states: &[&str]| {
        ListGroupsRequest::default()
            .with_types_filter(types.iter().map(|t| s(t)).collect())
            .with_states_filter(states.iter().map(|t| s(t)).collect())
    };
    let listed = |response: &ListGroupsResponse| -> Vec<(String, String, String)> {
        response
            .groups
            .iter()
            .map(|g| {
                (
                    g.group_id.to_string(),
                    g.group_state.to_string(),
                    g.group_type.to_string(),
                )
            })
            .collect()
    };
    let stable_classic = vec![(
        GROUP.to_string(),
        "Stable".to_string(),
        "classic".to_string(),
    )];
    for (types, states, expected) in [
        (&[][..], &[][..], stable_classic.clone()),
        (&["classic"][..], &[][..], stable_classic.clone()),
        (
            &["Classic", "consumer"][..],
            &["stable"][..],
            stable_classic.clone(),
        ),
        (&["consumer"][..], &[][..], vec![]),
        (&["no-such-type"][..], &[][..], vec![]),
        (&["classic"][..], &["Empty"][..], vec![]),
    ] {
        let response: ListGroupsResponse =
            answered(&cluster, ApiKey::ListGroups, 5, &list(types, states)).await;
        assert_eq!(response.error_code, error_code::NONE);
        assert_eq!(
            listed(&response),
            expected,
            "types {types:?} states {states:?}"
        );
    }
}

#[tokio::test]
async fn offset_commit_v0_and_v1_answer_a_group_coordinated_elsewhere() {
    let cluster = cluster_with_topic();
    for version in [0, 1] {
        assert_eq!(
            commit_legacy(&cluster, version, ELSEWHERE_GROUP, ("", -1), 1).await,
            vec![
                (0, error_code::NOT_COORDINATOR),
                (1, error_code::NOT_COORDINATOR)
            ],
            "OffsetCommit v{version}"
        );
    }
}

#[tokio::test]
async fn join_group_v8_with_a_reason_joins_as_v7_does() {
    let cluster = cluster();
    let first: JoinGroupResponse = answered(
        &cluster,
        ApiKey::JoinGroup,
        8,
        &join_request("").with_reason(Some(s("need to re-join with the given member-id"))),
    )
    .await;
    assert_eq!(first.error_code, error_code::MEMBER_ID_REQUIRED);
    let member = first.member_id.to_string();
    let joining = parked(&cluster, ApiKey::JoinGroup, 8, join_request(&member)).await;
    for _ in 0..10 {
        if cluster.groups.parked() == 0 {
            break;
        }
        cluster.groups.advance(INITIAL_DELAY_MS);
    }
    let joined: JoinGroupResponse = settle(joining).await;
    assert_eq!(joined.error_code, error_code::NONE);
    assert_eq!(joined.member_id.as_str(), member);
    assert_eq!(joined.leader.as_str(), member);
    assert_eq!(joined.protocol_name.as_deref(), Some("range"));
    let protocols: Vec<JoinGroupRequestProtocol> = join_request(&member).protocols;
    assert_eq!(
        joined.members[0].metadata, protocols[0].metadata,
        "the leader gets its own subscription"
    );
    assert_eq!(
        protocols[0].metadata,
        Bytes::from(encode_subscription(&["t"]))
    );
}
