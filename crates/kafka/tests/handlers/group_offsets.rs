//! OffsetCommit, OffsetFetch and OffsetDelete against a real coordinator in
//! memory, for a consumer outside group management (generation -1, no
//! member id): what is committed is what is fetched.

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use cairn_kafka::error_code;

use crate::memory_cluster::THIS_BROKER;
use crate::memory_groups::ELSEWHERE_GROUP;
use crate::wire::{answered, cluster};

const GROUP: &str = "standalone";

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn topic(name: &str) -> TopicName {
    TopicName(s(name))
}

fn commit_partition(index: i32, offset: i64, metadata: &str) -> OffsetCommitRequestPartition {
    OffsetCommitRequestPartition::default()
        .with_partition_index(index)
        .with_committed_offset(offset)
        .with_committed_leader_epoch(3)
        .with_committed_metadata(Some(s(metadata)))
}

fn standalone_commit(group: &str) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(s(""))
        .with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(topic("t"))
                .with_partitions(vec![
                    commit_partition(0, 42, "m"),
                    commit_partition(1, 7, ""),
                    commit_partition(5, 1, ""),
                ]),
            OffsetCommitRequestTopic::default()
                .with_name(topic("missing"))
                .with_partitions(vec![commit_partition(0, 1, "")]),
        ])
}

fn codes(response: &OffsetCommitResponse) -> Vec<(String, i32, i16)> {
    response
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (t.name.to_string(), p.partition_index, p.error_code))
        })
        .collect()
}

fn fetch(partitions: Option<Vec<i32>>) -> OffsetFetchRequest {
    OffsetFetchRequest::default()
        .with_group_id(GroupId(s(GROUP)))
        .with_topics(partitions.map(|p| {
            vec![OffsetFetchRequestTopic::default()
                .with_name(topic("t"))
                .with_partition_indexes(p)]
        }))
}

/// (topic, partition, offset, leader epoch, metadata, error) of every partition fetched.
fn fetched(response: &OffsetFetchResponse) -> Vec<(String, i32, i64, i32, String, i16)> {
    response
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    t.name.to_string(),
                    p.partition_index,
                    p.committed_offset,
                    p.committed_leader_epoch,
                    p.metadata.as_deref().unwrap_or("<null>").to_string(),
                    p.error_code,
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn standalone_commit_is_fetched_back() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER), Some(THIS_BROKER)]);
    let committed: OffsetCommitResponse =
        answered(&cluster, ApiKey::OffsetCommit, 8, &standalone_commit(GROUP)).await;
    assert_eq!(
        codes(&committed),
        vec![
            ("t".to_string(), 0, error_code::NONE),
            ("t".to_string(), 1, error_code::NONE),
            ("t".to_string(), 5, error_code::UNKNOWN_TOPIC_OR_PARTITION),
            (
                "missing".to_string(),
                0,
                error_code::UNKNOWN_TOPIC_OR_PARTITION
            ),
        ]
    );

    let named: OffsetFetchResponse = answered(
        &cluster,
        ApiKey::OffsetFetch,
        7,
        &fetch(Some(vec![0, 1, 2])),
    )
    .await;
    assert_eq!(named.error_code, error_code::NONE);
    let t = |p, offset, epoch, metadata: &str| {
        (
            "t".to_string(),
            p,
            offset,
            epoch,
            metadata.to_string(),
            error_code::NONE,
        )
    };
    assert_eq!(
        fetched(&named),
        vec![t(0, 42, 3, "m"), t(1, 7, 3, ""), t(2, -1, -1, "")]
    );

    // Topics null: every committed partition.
    let all: OffsetFetchResponse = answered(&cluster, ApiKey::OffsetFetch, 7, &fetch(None)).await;
    assert_eq!(fetched(&all), vec![t(0, 42, 3, "m"), t(1, 7, 3, "")]);

    // v1 has no leader epoch on the wire and the same offsets.
    let v1: OffsetFetchResponse =
        answered(&cluster, ApiKey::OffsetFetch, 1, &fetch(Some(vec![0]))).await;
    assert_eq!(fetched(&v1), vec![t(0, 42, -1, "m")]);

    // OffsetDelete, then the partition has no offset.
    let deleted: OffsetDeleteResponse = answered(
        &cluster,
        ApiKey::OffsetDelete,
        0,
        &OffsetDeleteRequest::default()
            .with_group_id(GroupId(s(GROUP)))
            .with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(topic("t"))
                .with_partitions(vec![
                    OffsetDeleteRequestPartition::default().with_partition_index(0)
                ])]),
    )
    .await;
    assert_eq!(deleted.error_code, error_code::NONE);
    assert_eq!(deleted.topics[0].partitions[0].error_code, error_code::NONE);
    let after: OffsetFetchResponse =
        answered(&cluster, ApiKey::OffsetFetch, 7, &fetch(Some(vec![0, 1]))).await;
    assert_eq!(fetched(&after), vec![t(0, -1, -1, ""), t(1, 7, 3, "")]);
}

#[tokio::test]
async fn offsets_of_a_group_coordinated_elsewhere_answer_not_coordinator() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER), Some(THIS_BROKER)]);
    let committed: OffsetCommitResponse = answered(
        &cluster,
        ApiKey::OffsetCommit,
        2,
        &standalone_commit(ELSEWHERE_GROUP).with_retention_time_ms(-1),
    )
    .await;
    assert_eq!(
        codes(&committed),
        vec![
            ("t".to_string(), 0, error_code::NOT_COORDINATOR),
            ("t".to_string(), 1, error_code::NOT_COORDINATOR),
            ("t".to_string(), 5, error_code::UNKNOWN_TOPIC_OR_PARTITION),
            (
                "missing".to_string(),
                0,
                error_code::UNKNOWN_TOPIC_OR_PARTITION
            ),
        ]
    );
    let elsewhere = fetch(Some(vec![0])).with_group_id(GroupId(s(ELSEWHERE_GROUP)));
    // v2+: the top-level error.
    let v7: OffsetFetchResponse = answered(&cluster, ApiKey::OffsetFetch, 7, &elsewhere).await;
    assert_eq!(v7.error_code, error_code::NOT_COORDINATOR);
    // v1: each partition's.
    let v1: OffsetFetchResponse = answered(&cluster, ApiKey::OffsetFetch, 1, &elsewhere).await;
    assert_eq!(
        fetched(&v1),
        vec![(
            "t".to_string(),
            0,
            -1,
            -1,
            String::new(),
            error_code::NOT_COORDINATOR
        )]
    );
}
