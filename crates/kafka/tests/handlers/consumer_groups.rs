//! The consumer group protocol (KIP-848) against a real coordinator in
//! memory: ConsumerGroupHeartbeat v0 and v1 (joining, incremental
//! reassignment, leaving, regular expressions, errors), ConsumerGroupDescribe,
//! and consumer groups as DescribeGroups, ListGroups and Metadata by topic
//! id show them.

use std::collections::BTreeSet;
use std::sync::Arc;

use cairn_kafka::error_code;
use kafka_protocol::messages::consumer_group_heartbeat_request::TopicPartitions;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use crate::memory_cluster::{MemoryCluster, THIS_BROKER};
use crate::memory_groups::ELSEWHERE_GROUP;
use crate::wire::{answered, cluster};

const GROUP: &str = "dashboards";

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// A cluster with topics "orders" (6 partitions) and "trucks" (2).
fn cluster_with_topics() -> Arc<MemoryCluster> {
    let cluster = cluster();
    cluster.add_topic("orders", &[Some(THIS_BROKER); 6]);
    cluster.add_topic("trucks", &[Some(THIS_BROKER); 2]);
    cluster
}

/// The topic id the cluster reports for `name`.
fn topic_id(cluster: &MemoryCluster, name: &str) -> uuid::Uuid {
    let metadata = cairn_kafka::KafkaCluster::metadata(cluster);
    let topic = metadata.topics.iter().find(|t| t.name == name).unwrap();
    uuid::Uuid::from_u128(topic.id)
}

fn join(member_id: &str, topics: &[&str]) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_member_id(s(member_id))
        .with_member_epoch(0)
        .with_rebalance_timeout_ms(60_000)
        .with_subscribed_topic_names(Some(topics.iter().map(|t| TopicName(s(t))).collect()))
        .with_topic_partitions(Some(Vec::new()))
}

/// A heartbeat at `epoch` reporting `owned`.
fn beat(
    member_id: &str,
    epoch: i32,
    owned: &[(uuid::Uuid, Vec<i32>)],
) -> ConsumerGroupHeartbeatRequest {
    ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_member_id(s(member_id))
        .with_member_epoch(epoch)
        .with_topic_partitions(Some(
            owned
                .iter()
                .map(|(id, ps)| {
                    TopicPartitions::default()
                        .with_topic_id(*id)
                        .with_partitions(ps.clone())
                })
                .collect(),
        ))
}

async fn send(
    cluster: &Arc<MemoryCluster>,
    version: i16,
    request: &ConsumerGroupHeartbeatRequest,
) -> ConsumerGroupHeartbeatResponse {
    answered(cluster, ApiKey::ConsumerGroupHeartbeat, version, request).await
}

/// The assignment of a response as (topic id, partitions).
fn assigned(response: &ConsumerGroupHeartbeatResponse) -> Vec<(uuid::Uuid, Vec<i32>)> {
    response
        .assignment
        .as_ref()
        .expect("an assignment")
        .topic_partitions
        .iter()
        .map(|tp| (tp.topic_id, tp.partitions.clone()))
        .collect()
}

#[tokio::test]
async fn two_members_split_a_topic_without_ever_sharing_a_partition() {
    let cluster = cluster_with_topics();
    let orders = topic_id(&cluster, "orders");
    let a = send(&cluster, 1, &join("member-a", &["orders"])).await;
    assert_eq!(a.error_code, error_code::NONE, "{:?}", a.error_message);
    assert_eq!(a.member_id.as_deref(), Some("member-a"));
    assert_eq!(a.member_epoch, 1);
    assert_eq!(a.heartbeat_interval_ms, 5_000);
    assert_eq!(assigned(&a), vec![(orders, vec![0, 1, 2, 3, 4, 5])]);

    let b = send(&cluster, 1, &join("member-b", &["orders"])).await;
    assert_eq!(b.member_epoch, 2);
    assert_eq!(assigned(&b), vec![], "a still owns everything");

    let all = vec![(orders, vec![0, 1, 2, 3, 4, 5])];
    let revoke = send(&cluster, 1, &beat("member-a", 1, &all)).await;
    assert_eq!(revoke.member_epoch, 1, "a keeps its epoch until it revokes");
    let kept = assigned(&revoke);
    assert_eq!(kept[0].1.len(), 3);
    let acked = send(&cluster, 1, &beat("member-a", 1, &kept)).await;
    assert_eq!(acked.member_epoch, 2);

    let given = send(&cluster, 1, &beat("member-b", 2, &[])).await;
    let given = assigned(&given);
    let kept: BTreeSet<i32> = kept[0].1.iter().copied().collect();
    let given_set: BTreeSet<i32> = given[0].1.iter().copied().collect();
    assert_eq!(given_set.len(), 3);
    assert!(kept.is_disjoint(&given_set));

    let left = send(&cluster, 1, &beat("member-b", -1, &given)).await;
    assert_eq!(left.error_code, error_code::NONE);
    assert_eq!(left.member_epoch, -1);
}

#[tokio::test]
async fn a_v0_member_is_given_its_member_id() {
    let cluster = cluster_with_topics();
    let joined = send(&cluster, 0, &join("", &["orders"])).await;
    assert_eq!(joined.error_code, error_code::NONE);
    assert_eq!(joined.member_id.as_deref(), Some("handler-test-0"));
    // v1 requires one.
    let refused = send(&cluster, 1, &join("", &["orders"])).await;
    assert_eq!(refused.error_code, error_code::INVALID_REQUEST);
    assert_eq!(
        refused.error_message.as_deref(),
        Some("invalid request: MemberId can't be empty.")
    );
}

#[tokio::test]
async fn a_regular_expression_subscribes_to_the_matching_topics() {
    let cluster = cluster_with_topics();
    let request = join("member-a", &[])
        .with_subscribed_topic_names(None)
        .with_subscribed_topic_regex(Some(s("tr.*")));
    let response = send(&cluster, 1, &request).await;
    assert_eq!(response.error_code, error_code::NONE);
    assert_eq!(
        assigned(&response),
        vec![(topic_id(&cluster, "trucks"), vec![0, 1])],
        "matches the whole name only"
    );

    let bad = join("member-b", &[])
        .with_subscribed_topic_names(None)
        .with_subscribed_topic_regex(Some(s("(unclosed")));
    let response = send(&cluster, 1, &bad).await;
    assert_eq!(response.error_code, error_code::INVALID_REGULAR_EXPRESSION);
}

#[tokio::test]
async fn coordinator_errors_come_back_with_their_codes() {
    let cluster = cluster_with_topics();
    let elsewhere = join("member-a", &["orders"]).with_group_id(GroupId(s(ELSEWHERE_GROUP)));
    assert_eq!(
        send(&cluster, 1, &elsewhere).await.error_code,
        error_code::NOT_COORDINATOR
    );
    let assignor = join("member-a", &["orders"]).with_server_assignor(Some(s("sticky")));
    assert_eq!(
        send(&cluster, 1, &assignor).await.error_code,
        error_code::UNSUPPORTED_ASSIGNOR
    );
    assert_eq!(
        send(&cluster, 1, &beat("member-a", 3, &[]))
            .await
            .error_code,
        error_code::GROUP_ID_NOT_FOUND
    );
    send(&cluster, 1, &join("member-a", &["orders"])).await;
    assert_eq!(
        send(&cluster, 1, &beat("member-a", 7, &[]))
            .await
            .error_code,
        error_code::FENCED_MEMBER_EPOCH
    );
    assert_eq!(
        send(&cluster, 1, &beat("member-z", 1, &[]))
            .await
            .error_code,
        error_code::UNKNOWN_MEMBER_ID
    );
}

#[tokio::test]
async fn consumer_group_describe_shows_epochs_members_and_assignments() {
    let cluster = cluster_with_topics();
    send(&cluster, 1, &join("member-a", &["orders", "trucks"])).await;
    let request = ConsumerGroupDescribeRequest::default().with_group_ids(vec![
        GroupId(s(GROUP)),
        GroupId(s("unknown")),
        GroupId(s(ELSEWHERE_GROUP)),
    ]);
    let v1: ConsumerGroupDescribeResponse =
        answered(&cluster, ApiKey::ConsumerGroupDescribe, 1, &request).await;
    assert_eq!(
        v1.groups[0].members[0].member_type, 1,
        "a consumer-protocol member"
    );
    let response: ConsumerGroupDescribeResponse =
        answered(&cluster, ApiKey::ConsumerGroupDescribe, 0, &request).await;
    assert_eq!(response.groups[0].members[0].member_type, -1, "not in v0");
    let group = &response.groups[0];
    assert_eq!(group.error_code, error_code::NONE);
    assert_eq!(group.group_state.as_str(), "Stable");
    assert_eq!((group.group_epoch, group.assignment_epoch), (1, 1));
    assert_eq!(group.assignor_name.as_str(), "uniform");
    let member = &group.members[0];
    assert_eq!(member.member_id.as_str(), "member-a");
    assert_eq!(member.member_epoch, 1);
    assert_eq!(member.client_id.as_str(), "handler-test");
    let topics: Vec<(String, usize)> = member
        .assignment
        .topic_partitions
        .iter()
        .map(|tp| (tp.topic_name.0.to_string(), tp.partitions.len()))
        .collect();
    assert_eq!(topics.len(), 2);
    assert!(topics.contains(&("orders".to_string(), 6)));
    assert!(topics.contains(&("trucks".to_string(), 2)));
    assert_eq!(member.target_assignment, member.assignment);

    assert_eq!(
        response.groups[1].error_code,
        error_code::GROUP_ID_NOT_FOUND
    );
    assert_eq!(response.groups[2].error_code, error_code::NOT_COORDINATOR);
}

#[tokio::test]
async fn describe_groups_and_list_groups_show_consumer_groups() {
    let cluster = cluster_with_topics();
    send(&cluster, 1, &join("member-a", &["orders"])).await;
    let request =
        DescribeGroupsRequest::default().with_groups(vec![GroupId(s(GROUP)), GroupId(s("nobody"))]);
    let v6: DescribeGroupsResponse = answered(&cluster, ApiKey::DescribeGroups, 6, &request).await;
    let unknown = &v6.groups[1];
    assert_eq!(unknown.error_code, error_code::GROUP_ID_NOT_FOUND);
    assert_eq!(unknown.group_state.as_str(), "Dead");
    assert!(unknown.error_message.as_ref().unwrap().contains("'nobody'"));
    assert_eq!(v6.groups[0].error_code, error_code::NONE);
    let described: DescribeGroupsResponse =
        answered(&cluster, ApiKey::DescribeGroups, 5, &request).await;
    // Before v6 an unknown group is Dead without an error.
    assert_eq!(described.groups[1].error_code, error_code::NONE);
    assert_eq!(described.groups[1].group_state.as_str(), "Dead");
    let group = &described.groups[0];
    assert_eq!(group.error_code, error_code::NONE);
    assert_eq!(group.group_state.as_str(), "Stable");
    assert_eq!(group.protocol_type.as_str(), "consumer");
    assert_eq!(group.protocol_data.as_str(), "uniform");
    assert_eq!(group.members[0].member_id.as_str(), "member-a");
    assert!(!group.members[0].member_assignment.is_empty());

    let listed: ListGroupsResponse = answered(
        &cluster,
        ApiKey::ListGroups,
        4,
        &ListGroupsRequest::default(),
    )
    .await;
    let groups: Vec<(String, String, String)> = listed
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
        groups,
        vec![(
            GROUP.to_string(),
            "consumer".to_string(),
            "Stable".to_string()
        )]
    );
}

#[tokio::test]
async fn a_classic_member_and_a_consumer_member_cannot_share_a_group() {
    let cluster = cluster_with_topics();
    send(&cluster, 1, &join("member-a", &["orders"])).await;
    let classic = JoinGroupRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(30_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![
            kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol::default()
                .with_name(s("range"))
                .with_metadata(bytes::Bytes::from(
                    cairn_coordinator::subscription::encode_subscription(&["orders"]),
                )),
        ]);
    let refused: JoinGroupResponse = answered(&cluster, ApiKey::JoinGroup, 7, &classic).await;
    assert_eq!(refused.error_code, error_code::INCONSISTENT_GROUP_PROTOCOL);
}

#[tokio::test]
async fn metadata_answers_topics_asked_for_by_id() {
    let cluster = cluster_with_topics();
    let trucks = topic_id(&cluster, "trucks");
    let missing = uuid::Uuid::from_u128(0xdead);
    let request = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default()
            .with_name(None)
            .with_topic_id(trucks),
        MetadataRequestTopic::default()
            .with_name(None)
            .with_topic_id(missing),
    ]));
    let response: MetadataResponse = answered(&cluster, ApiKey::Metadata, 12, &request).await;
    let found = &response.topics[0];
    assert_eq!(found.error_code, error_code::NONE);
    assert_eq!(found.name.as_ref().unwrap().as_str(), "trucks");
    assert_eq!(found.topic_id, trucks);
    assert_eq!(found.partitions.len(), 2);
    let unknown = &response.topics[1];
    assert_eq!(unknown.error_code, error_code::UNKNOWN_TOPIC_ID);
    assert_eq!(unknown.topic_id, missing);
    assert!(unknown.name.is_none());
}

#[tokio::test]
async fn api_versions_advertises_the_consumer_group_apis() {
    let cluster = cluster();
    let response: ApiVersionsResponse = answered(
        &cluster,
        ApiKey::ApiVersions,
        3,
        &ApiVersionsRequest::default()
            .with_client_software_name(s("t"))
            .with_client_software_version(s("1")),
    )
    .await;
    let range = |key: ApiKey| {
        response
            .api_keys
            .iter()
            .find(|k| k.api_key == key as i16)
            .map(|k| (k.min_version, k.max_version))
    };
    assert_eq!(range(ApiKey::ConsumerGroupHeartbeat), Some((0, 1)));
    assert_eq!(range(ApiKey::ConsumerGroupDescribe), Some((0, 1)));
}
