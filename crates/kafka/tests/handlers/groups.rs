//! The group membership APIs against a real coordinator in memory:
//! FindCoordinator, JoinGroup and SyncGroup of two members, Heartbeat,
//! DescribeGroups, ListGroups, LeaveGroup and DeleteGroups.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::subscription::encode_subscription;
use cairn_kafka::error_code;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::memory_cluster::{MemoryCluster, LOADING_GROUP, THIS_BROKER};
use crate::memory_groups::ELSEWHERE_GROUP;
use crate::wire::{answered, cluster, CLIENT_HOST};

pub(crate) const GROUP: &str = "payments";
/// `group.initial.rebalance.delay.ms` of the coordinator's default config.
pub(crate) const INITIAL_DELAY_MS: u64 = 3_000;

pub(crate) fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub(crate) fn join_request(member_id: &str) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(30_000)
        .with_member_id(s(member_id))
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(Bytes::from(encode_subscription(&["t"])))])
}

async fn join(cluster: &Arc<MemoryCluster>, member_id: &str) -> JoinGroupResponse {
    answered(cluster, ApiKey::JoinGroup, 7, &join_request(member_id)).await
}

/// Sends a request that the coordinator parks; returns the task awaiting its answer.
pub(crate) async fn parked<Req, Resp>(
    cluster: &Arc<MemoryCluster>,
    key: ApiKey,
    version: i16,
    request: Req,
) -> tokio::task::JoinHandle<Resp>
where
    Req: kafka_protocol::protocol::Encodable + Send + Sync + 'static,
    Resp: kafka_protocol::protocol::Decodable + Send + 'static,
{
    let before = cluster.groups.parked();
    let task = tokio::spawn({
        let cluster = cluster.clone();
        async move { answered(&cluster, key, version, &request).await }
    });
    for _ in 0..100 {
        if cluster.groups.parked() > before {
            return task;
        }
        tokio::task::yield_now().await;
    }
    panic!("{key:?} was not parked");
}

/// The answer of a parked request, which must have come.
pub(crate) async fn settle<Resp>(task: tokio::task::JoinHandle<Resp>) -> Resp {
    tokio::time::timeout(std::time::Duration::from_secs(5), task)
        .await
        .expect("the parked request was answered")
        .expect("the request task did not panic")
}

fn heartbeat(member_id: &str, generation_id: i32) -> HeartbeatRequest {
    HeartbeatRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_generation_id(generation_id)
        .with_member_id(s(member_id))
}

#[tokio::test]
async fn find_coordinator_answers_one_key_or_a_batch() {
    let cluster = cluster();
    let v0: FindCoordinatorResponse = answered(
        &cluster,
        ApiKey::FindCoordinator,
        0,
        &FindCoordinatorRequest::default().with_key(s(GROUP)),
    )
    .await;
    assert_eq!(v0.error_code, error_code::NONE);
    assert_eq!(v0.node_id, BrokerId(THIS_BROKER));
    assert_eq!((v0.host.as_str(), v0.port), ("127.0.0.1", 9091));

    let transaction: FindCoordinatorResponse = answered(
        &cluster,
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default()
            .with_key(s("tx-1"))
            .with_key_type(1),
    )
    .await;
    assert_eq!(
        transaction.error_code,
        error_code::COORDINATOR_NOT_AVAILABLE
    );
    assert_eq!(transaction.node_id, BrokerId(-1));
    assert_eq!((transaction.host.as_str(), transaction.port), ("", -1));
    assert!(transaction.error_message.is_some());

    let v4: FindCoordinatorResponse = answered(
        &cluster,
        ApiKey::FindCoordinator,
        4,
        &FindCoordinatorRequest::default().with_coordinator_keys(vec![s(GROUP), s(LOADING_GROUP)]),
    )
    .await;
    let entries: Vec<_> = v4
        .coordinators
        .iter()
        .map(|c| (c.key.to_string(), c.error_code, c.node_id.0, c.port))
        .collect();
    assert_eq!(
        entries,
        vec![
            (GROUP.to_string(), error_code::NONE, THIS_BROKER, 9091),
            (
                LOADING_GROUP.to_string(),
                error_code::COORDINATOR_NOT_AVAILABLE,
                -1,
                -1
            ),
        ]
    );
    let message = v4.coordinators[1].error_message.as_deref().unwrap();
    assert!(message.contains(LOADING_GROUP), "{message}");
}

/// Joins two members and syncs them; returns (leader, follower, generation).
pub(crate) async fn two_member_group(cluster: &Arc<MemoryCluster>) -> (String, String, i32) {
    // v4+: a member without an id gets one and must rejoin with it.
    let first = join(cluster, "").await;
    assert_eq!(first.error_code, error_code::MEMBER_ID_REQUIRED);
    assert!(!first.member_id.is_empty());
    let a = first.member_id.to_string();
    let join_a = parked(cluster, ApiKey::JoinGroup, 7, join_request(&a)).await;

    let second = join(cluster, "").await;
    assert_eq!(second.error_code, error_code::MEMBER_ID_REQUIRED);
    let b = second.member_id.to_string();
    assert_ne!(a, b);
    let join_b = parked(cluster, ApiKey::JoinGroup, 7, join_request(&b)).await;

    // The first rebalance of an empty group waits the initial delay for more
    // joiners, once more for each delay in which one came (up to the
    // rebalance timeout).
    for _ in 0..10 {
        if cluster.groups.parked() == 0 {
            break;
        }
        cluster.groups.advance(INITIAL_DELAY_MS);
    }
    let (joined_a, joined_b): (JoinGroupResponse, JoinGroupResponse) =
        (settle(join_a).await, settle(join_b).await);
    for joined in [&joined_a, &joined_b] {
        assert_eq!(joined.error_code, error_code::NONE);
        assert_eq!(joined.generation_id, 1);
        assert_eq!(joined.protocol_name.as_deref(), Some("range"));
        assert_eq!(joined.protocol_type.as_deref(), Some("consumer"));
        assert_eq!(joined.leader, joined_a.leader);
    }
    let leader = joined_a.leader.to_string();
    let (leader_join, follower_join) = if leader == a {
        (&joined_a, &joined_b)
    } else {
        (&joined_b, &joined_a)
    };
    let mut members: Vec<String> = leader_join
        .members
        .iter()
        .map(|m| m.member_id.to_string())
        .collect();
    members.sort();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(members, expected, "the leader gets every member");
    assert!(follower_join.members.is_empty(), "followers get no members");
    let follower = if leader == a { b } else { a };

    // The follower's SyncGroup waits for the leader's assignment.
    let sync = |member: &str, assignments: Vec<SyncGroupRequestAssignment>| {
        SyncGroupRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_generation_id(1)
            .with_member_id(s(member))
            .with_protocol_type(Some(s("consumer")))
            .with_protocol_name(Some(s("range")))
            .with_assignments(assignments)
    };
    let follower_sync = parked(cluster, ApiKey::SyncGroup, 5, sync(&follower, vec![])).await;
    let assignment = |member: &str| {
        SyncGroupRequestAssignment::default()
            .with_member_id(s(member))
            .with_assignment(Bytes::from(format!("for {member}")))
    };
    let leader_synced: SyncGroupResponse = answered(
        cluster,
        ApiKey::SyncGroup,
        5,
        &sync(&leader, vec![assignment(&leader), assignment(&follower)]),
    )
    .await;
    let follower_synced: SyncGroupResponse = settle(follower_sync).await;
    assert_eq!(leader_synced.error_code, error_code::NONE);
    assert_eq!(follower_synced.error_code, error_code::NONE);
    assert_eq!(leader_synced.assignment, format!("for {leader}").as_bytes());
    assert_eq!(
        follower_synced.assignment,
        format!("for {follower}").as_bytes()
    );
    assert_eq!(follower_synced.protocol_name.as_deref(), Some("range"));
    (leader, follower, 1)
}

#[tokio::test]
async fn two_members_join_and_sync_their_assignments() {
    let cluster = cluster();
    let (leader, follower, generation) = two_member_group(&cluster).await;
    assert_ne!(leader, follower);
    assert_eq!(generation, 1);
}

#[tokio::test]
async fn heartbeat_answers_each_membership_error_with_its_code() {
    let cluster = cluster();
    let (leader, _, generation) = two_member_group(&cluster).await;
    let beat = |request: HeartbeatRequest| {
        let cluster = cluster.clone();
        async move {
            let response: HeartbeatResponse =
                answered(&cluster, ApiKey::Heartbeat, 4, &request).await;
            response.error_code
        }
    };
    assert_eq!(beat(heartbeat(&leader, generation)).await, error_code::NONE);
    assert_eq!(
        beat(heartbeat("nobody", generation)).await,
        error_code::UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        beat(heartbeat(&leader, generation + 1)).await,
        error_code::ILLEGAL_GENERATION
    );
    let elsewhere = heartbeat(&leader, generation).with_group_id(GroupId(s(ELSEWHERE_GROUP)));
    assert_eq!(beat(elsewhere).await, error_code::NOT_COORDINATOR);
    // v0 frames the same answer.
    let v0: HeartbeatResponse = answered(
        &cluster,
        ApiKey::Heartbeat,
        0,
        &heartbeat("nobody", generation),
    )
    .await;
    assert_eq!(v0.error_code, error_code::UNKNOWN_MEMBER_ID);
}

#[tokio::test]
async fn describe_and_list_report_the_stable_group() {
    let cluster = cluster();
    let (leader, follower, _) = two_member_group(&cluster).await;
    let described: DescribeGroupsResponse = answered(
        &cluster,
        ApiKey::DescribeGroups,
        5,
        &DescribeGroupsRequest::default().with_groups(vec![
            GroupId(s(GROUP)),
            GroupId(s("unknown")),
            GroupId(s(ELSEWHERE_GROUP)),
        ]),
    )
    .await;
    let group = &described.groups[0];
    assert_eq!(group.error_code, error_code::NONE);
    assert_eq!(group.group_state.as_str(), "Stable");
    assert_eq!(group.protocol_type.as_str(), "consumer");
    assert_eq!(group.protocol_data.as_str(), "range");
    let mut members: Vec<_> = group
        .members
        .iter()
        .map(|m| {
            (
                m.member_id.to_string(),
                m.client_id.to_string(),
                m.client_host.to_string(),
                m.member_assignment.clone(),
            )
        })
        .collect();
    members.sort();
    let mut expected: Vec<_> = [&leader, &follower]
        .iter()
        .map(|m| {
            (
                m.to_string(),
                "handler-test".to_string(),
                CLIENT_HOST.to_string(),
                Bytes::from(format!("for {m}")),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(described.groups[1].group_state.as_str(), "Dead");
    assert_eq!(described.groups[1].error_code, error_code::NONE);
    assert_eq!(described.groups[2].error_code, error_code::NOT_COORDINATOR);

    let list = |states: &[&str]| {
        ListGroupsRequest::default().with_states_filter(states.iter().map(|st| s(st)).collect())
    };
    let all: ListGroupsResponse = answered(&cluster, ApiKey::ListGroups, 4, &list(&[])).await;
    let listed: Vec<_> = all
        .groups
        .iter()
        .map(|g| {
            (
                g.group_id.to_string(),
                g.protocol_type.to_string(),
                g.group_state.to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![(
            GROUP.to_string(),
            "consumer".to_string(),
            "Stable".to_string()
        )]
    );
    let stable: ListGroupsResponse =
        answered(&cluster, ApiKey::ListGroups, 4, &list(&["stable"])).await;
    assert_eq!(stable.groups.len(), 1);
    let empty: ListGroupsResponse =
        answered(&cluster, ApiKey::ListGroups, 4, &list(&["Empty"])).await;
    assert!(empty.groups.is_empty());
    let v0: ListGroupsResponse = answered(
        &cluster,
        ApiKey::ListGroups,
        0,
        &ListGroupsRequest::default(),
    )
    .await;
    assert_eq!(v0.groups.len(), 1);
}

fn delete_groups(names: &[&str]) -> DeleteGroupsRequest {
    DeleteGroupsRequest::default().with_groups_names(names.iter().map(|g| GroupId(s(g))).collect())
}

fn results(response: &DeleteGroupsResponse) -> Vec<(String, i16)> {
    response
        .results
        .iter()
        .map(|r: &DeletableGroupResult| (r.group_id.to_string(), r.error_code))
        .collect()
}

#[tokio::test]
async fn members_leave_and_only_an_empty_group_can_be_deleted() {
    let cluster = cluster();
    let (leader, follower, _) = two_member_group(&cluster).await;

    let refused: DeleteGroupsResponse = answered(
        &cluster,
        ApiKey::DeleteGroups,
        2,
        &delete_groups(&[GROUP, "unknown"]),
    )
    .await;
    assert_eq!(
        results(&refused),
        vec![
            (GROUP.to_string(), error_code::NON_EMPTY_GROUP),
            ("unknown".to_string(), error_code::GROUP_ID_NOT_FOUND),
        ]
    );

    // v0: one member, its result is the top-level error.
    let left_v0: LeaveGroupResponse = answered(
        &cluster,
        ApiKey::LeaveGroup,
        0,
        &LeaveGroupRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_member_id(s(&follower)),
    )
    .await;
    assert_eq!(left_v0.error_code, error_code::NONE);
    let unknown_v0: LeaveGroupResponse = answered(
        &cluster,
        ApiKey::LeaveGroup,
        0,
        &LeaveGroupRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_member_id(s("nobody")),
    )
    .await;
    assert_eq!(unknown_v0.error_code, error_code::UNKNOWN_MEMBER_ID);

    // v3+: per member.
    let left_v4: LeaveGroupResponse = answered(
        &cluster,
        ApiKey::LeaveGroup,
        4,
        &LeaveGroupRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_members(vec![
                MemberIdentity::default().with_member_id(s(&leader)),
                MemberIdentity::default().with_member_id(s("nobody")),
            ]),
    )
    .await;
    assert_eq!(left_v4.error_code, error_code::NONE);
    let per_member: Vec<_> = left_v4
        .members
        .iter()
        .map(|m| (m.member_id.to_string(), m.error_code))
        .collect();
    assert_eq!(
        per_member,
        vec![
            (leader.clone(), error_code::NONE),
            ("nobody".to_string(), error_code::UNKNOWN_MEMBER_ID),
        ]
    );

    let deleted: DeleteGroupsResponse =
        answered(&cluster, ApiKey::DeleteGroups, 0, &delete_groups(&[GROUP])).await;
    assert_eq!(
        results(&deleted),
        vec![(GROUP.to_string(), error_code::NONE)]
    );
    let listed: ListGroupsResponse = answered(
        &cluster,
        ApiKey::ListGroups,
        4,
        &ListGroupsRequest::default(),
    )
    .await;
    assert!(listed.groups.is_empty());
}

#[tokio::test]
async fn every_served_version_answers_a_group_coordinated_elsewhere() {
    let cluster = cluster();
    let elsewhere = || GroupId(s(ELSEWHERE_GROUP));
    for v in 0..=9 {
        let joined: JoinGroupResponse = answered(
            &cluster,
            ApiKey::JoinGroup,
            v,
            &join_request("m").with_group_id(elsewhere()),
        )
        .await;
        assert_eq!(
            joined.error_code,
            error_code::NOT_COORDINATOR,
            "JoinGroup v{v}"
        );
        assert_eq!(joined.generation_id, -1, "JoinGroup v{v}");
    }
    for v in 0..=5 {
        let synced: SyncGroupResponse = answered(
            &cluster,
            ApiKey::SyncGroup,
            v,
            &SyncGroupRequest::default()
                .with_group_id(elsewhere())
                .with_member_id(s("m")),
        )
        .await;
        assert_eq!(
            synced.error_code,
            error_code::NOT_COORDINATOR,
            "SyncGroup v{v}"
        );
    }
    for v in 0..=4 {
        let beat: HeartbeatResponse = answered(
            &cluster,
            ApiKey::Heartbeat,
            v,
            &heartbeat("m", 1).with_group_id(elsewhere()),
        )
        .await;
        assert_eq!(
            beat.error_code,
            error_code::NOT_COORDINATOR,
            "Heartbeat v{v}"
        );
    }
    for v in 0..=5 {
        let leave = LeaveGroupRequest::default().with_group_id(elsewhere());
        let leave = if v <= 2 {
            leave.with_member_id(s("m"))
        } else {
            leave.with_members(vec![MemberIdentity::default().with_member_id(s("m"))])
        };
        let left: LeaveGroupResponse = answered(&cluster, ApiKey::LeaveGroup, v, &leave).await;
        assert_eq!(
            left.error_code,
            error_code::NOT_COORDINATOR,
            "LeaveGroup v{v}"
        );
    }
    for v in 0..=5 {
        let described: DescribeGroupsResponse = answered(
            &cluster,
            ApiKey::DescribeGroups,
            v,
            &DescribeGroupsRequest::default().with_groups(vec![elsewhere()]),
        )
        .await;
        assert_eq!(
            described.groups[0].error_code,
            error_code::NOT_COORDINATOR,
            "DescribeGroups v{v}"
        );
    }
    for v in 0..=2 {
        let deleted: DeleteGroupsResponse = answered(
            &cluster,
            ApiKey::DeleteGroups,
            v,
            &delete_groups(&[ELSEWHERE_GROUP]),
        )
        .await;
        assert_eq!(
            results(&deleted),
            vec![(ELSEWHERE_GROUP.to_string(), error_code::NOT_COORDINATOR)],
            "DeleteGroups v{v}"
        );
    }
}
