//! Fetch: committed batches with their offsets, below the high watermark
//! only; out-of-range offsets and followers get their codes; a long-poll
//! wakes when the high watermark moves.

use std::time::Duration;

use bytes::Bytes;
use cairn_common::batch;
use cairn_kafka::error_code;
use cairn_kafka::KafkaCluster;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::RecordBatchDecoder;

use crate::memory_cluster::{MemoryCluster, LEADER_EPOCH, THIS_BROKER};
use crate::wire::{answered, cluster};

/// Appends a batch of `values` through the cluster (as Produce would).
async fn append(cluster: &MemoryCluster, topic: &str, partition: i32, values: &[&[u8]]) {
    let records = Bytes::from(batch::build(values, 1_000));
    cluster
        .produce(topic, partition, vec![records], false)
        .await
        .unwrap();
}

fn fetch(topic: &str, partitions: &[(i32, i64)], max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(
                partitions
                    .iter()
                    .map(|&(partition, offset)| {
                        FetchPartition::default()
                            .with_partition(partition)
                            .with_fetch_offset(offset)
                            .with_partition_max_bytes(1 << 20)
                    })
                    .collect(),
            )])
}

/// (offset, value) of every record in the partition's answer.
fn records(data: &PartitionData) -> Vec<(i64, Vec<u8>)> {
    let mut bytes = data.records.clone().unwrap_or_default();
    RecordBatchDecoder::decode_all(&mut bytes)
        .unwrap()
        .into_iter()
        .flat_map(|set| set.records)
        .map(|r| (r.offset, r.value.unwrap_or_default().to_vec()))
        .collect()
}

fn topic_id(cluster: &MemoryCluster, name: &str) -> uuid::Uuid {
    let id = cluster
        .metadata()
        .topics
        .into_iter()
        .find(|t| t.name == name)
        .map_or(0, |t| t.id);
    uuid::Uuid::from_u128(id)
}

/// The request as a client of `version` sends it: from v13 topics go by id.
fn at_version(cluster: &MemoryCluster, version: i16, mut request: FetchRequest) -> FetchRequest {
    if version >= 13 {
        for t in &mut request.topics {
            t.topic_id = topic_id(cluster, t.topic.as_str());
            t.topic = TopicName::default();
        }
    }
    request
}

fn partition(response: &FetchResponse, index: usize) -> &PartitionData {
    &response.responses[0].partitions[index]
}

#[tokio::test]
async fn fetch_returns_committed_records_below_the_high_watermark_at_every_version() {
    for version in 4..=17 {
        let cluster = cluster();
        cluster.add_topic("t", &[Some(THIS_BROKER)]);
        append(&cluster, "t", 0, &[b"a", b"b"]).await;
        append(&cluster, "t", 0, &[b"c"]).await;
        cluster.partition("t", 0, |p| p.hold_commits = true);
        append(&cluster, "t", 0, &[b"not yet committed"]).await;

        let request = at_version(&cluster, version, fetch("t", &[(0, 0)], 0));
        let response: FetchResponse = answered(&cluster, ApiKey::Fetch, version, &request).await;
        if version >= 13 {
            assert_eq!(response.responses[0].topic_id, topic_id(&cluster, "t"));
        } else {
            assert_eq!(response.responses[0].topic.as_str(), "t");
        }
        let data = partition(&response, 0);
        assert_eq!(response.error_code, error_code::NONE, "v{version}");
        assert_eq!(data.error_code, error_code::NONE, "v{version}");
        assert_eq!(data.high_watermark, 3, "v{version}");
        assert_eq!(data.last_stable_offset, 3, "v{version}");
        if version >= 5 {
            assert_eq!(data.log_start_offset, 0, "v{version}");
        }
        assert_eq!(
            records(data),
            vec![(0, b"a".to_vec()), (1, b"b".to_vec()), (2, b"c".to_vec())],
            "v{version}"
        );
    }
}

#[tokio::test]
async fn fetch_outside_the_log_is_offset_out_of_range() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER)]);
    append(&cluster, "t", 0, &[b"a"]).await;
    let response: FetchResponse =
        answered(&cluster, ApiKey::Fetch, 12, &fetch("t", &[(0, 5)], 0)).await;
    let data = partition(&response, 0);
    assert_eq!(data.error_code, error_code::OFFSET_OUT_OF_RANGE);
    assert_eq!(data.high_watermark, -1);
    assert_eq!(data.records.as_deref(), Some(&[][..]));
}

#[tokio::test]
async fn fetch_by_topic_id_refuses_an_unknown_id_and_names_the_leader_from_v16() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER), Some(2)]);
    for version in 13..=17 {
        let mut request = at_version(&cluster, version, fetch("t", &[(0, 0), (1, 0)], 0));
        request.topics.push(
            FetchTopic::default()
                .with_topic_id(uuid::Uuid::from_u128(0xdead))
                .with_partitions(request.topics[0].partitions.clone()),
        );
        let response: FetchResponse = answered(&cluster, ApiKey::Fetch, version, &request).await;
        assert_eq!(partition(&response, 0).error_code, error_code::NONE);
        let follower = partition(&response, 1);
        assert_eq!(follower.error_code, error_code::NOT_LEADER_OR_FOLLOWER);
        let unknown = &response.responses[1];
        assert_eq!(unknown.topic_id.as_u128(), 0xdead);
        assert!(unknown
            .partitions
            .iter()
            .all(|p| p.error_code == error_code::UNKNOWN_TOPIC_ID));
        let endpoints: Vec<i32> = response
            .node_endpoints
            .iter()
            .map(|e| e.node_id.0)
            .collect();
        if version >= 16 {
            assert_eq!(
                (
                    follower.current_leader.leader_id.0,
                    follower.current_leader.leader_epoch
                ),
                (2, 4),
                "v{version}"
            );
            assert_eq!(endpoints, vec![2], "v{version}");
        } else {
            assert_eq!(follower.current_leader.leader_id.0, -1, "v{version}");
            assert!(endpoints.is_empty(), "v{version}");
        }
    }
}

#[tokio::test]
async fn fetch_from_a_follower_or_an_unknown_topic_gets_its_code() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(2)]);
    let follower: FetchResponse =
        answered(&cluster, ApiKey::Fetch, 12, &fetch("t", &[(0, 0)], 0)).await;
    assert_eq!(
        partition(&follower, 0).error_code,
        error_code::NOT_LEADER_OR_FOLLOWER
    );
    let unknown: FetchResponse =
        answered(&cluster, ApiKey::Fetch, 12, &fetch("missing", &[(0, 0)], 0)).await;
    assert_eq!(
        partition(&unknown, 0).error_code,
        error_code::UNKNOWN_TOPIC_OR_PARTITION
    );
}

#[tokio::test]
async fn once_a_partition_filled_max_bytes_later_partitions_get_no_records() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER), Some(THIS_BROKER)]);
    append(&cluster, "t", 0, &[&[1u8; 200]]).await;
    append(&cluster, "t", 1, &[&[2u8; 200]]).await;
    let request = fetch("t", &[(0, 0), (1, 0)], 0).with_max_bytes(100);
    let response: FetchResponse = answered(&cluster, ApiKey::Fetch, 12, &request).await;
    // The first batch is returned even though it exceeds max_bytes, so that
    // the consumer makes progress; the second waits for the next fetch.
    assert_eq!(records(partition(&response, 0)).len(), 1);
    let second = partition(&response, 1);
    assert_eq!(second.error_code, error_code::NONE);
    assert_eq!(second.high_watermark, 1);
    assert!(records(second).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_waiting_fetch_wakes_when_the_high_watermark_moves() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER)]);
    cluster.partition("t", 0, |p| p.hold_commits = true);
    append(&cluster, "t", 0, &[b"late"]).await;

    let max_wait = Duration::from_secs(60);
    let started = tokio::time::Instant::now();
    let fetching = {
        let cluster = cluster.clone();
        tokio::spawn(async move {
            let request = fetch("t", &[(0, 0)], max_wait.as_millis() as i32);
            answered::<_, FetchResponse>(&cluster, ApiKey::Fetch, 12, &request).await
        })
    };
    // Wait until the fetch has found nothing and subscribed to the partition.
    while cluster.partition("t", 0, |p| p.high_watermark_subscribers()) == 0 {
        tokio::task::yield_now().await;
    }
    cluster.commit_all("t", 0);
    let response = fetching.await.unwrap();

    assert_eq!(
        records(partition(&response, 0)),
        vec![(0, b"late".to_vec())]
    );
    // The clock is paused: it only moves if the fetch slept to its deadline.
    assert!(tokio::time::Instant::now() < started + max_wait);
}

#[tokio::test]
async fn list_offsets_answers_every_special_timestamp_at_every_version() {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER), Some(2)]);
    append(&cluster, "t", 0, &[b"a", b"b", b"c"]).await;
    cluster.commit_all("t", 0);
    let ask = |partition: i32, timestamp: i64| {
        ListOffsetsRequest::default()
            .with_replica_id(kafka_protocol::messages::BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("t")))
                .with_partitions(vec![ListOffsetsPartition::default()
                    .with_partition_index(partition)
                    .with_timestamp(timestamp)])])
    };
    // (timestamp, first version that knows it, expected offset)
    let cases = [(-2, 1, 0), (-1, 1, 3), (-4, 8, 0), (-5, 9, -1)];
    for version in 1..=10 {
        for (timestamp, from, expected) in cases {
            if version < from {
                continue;
            }
            let response: ListOffsetsResponse =
                answered(&cluster, ApiKey::ListOffsets, version, &ask(0, timestamp)).await;
            let p = &response.topics[0].partitions[0];
            assert_eq!(p.error_code, error_code::NONE, "v{version} {timestamp}");
            assert_eq!(p.offset, expected, "v{version} {timestamp}");
            // A follower answers nothing, whatever is asked.
            let response: ListOffsetsResponse =
                answered(&cluster, ApiKey::ListOffsets, version, &ask(1, timestamp)).await;
            assert_eq!(
                response.topics[0].partitions[0].error_code,
                error_code::NOT_LEADER_OR_FOLLOWER,
                "v{version} {timestamp}"
            );
        }
    }
}

#[tokio::test]
async fn a_stale_or_future_leader_epoch_is_fenced_or_unknown_and_minus_one_is_not_checked() {
    use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
    use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER)]);
    append(&cluster, "t", 0, &[b"a"]).await;
    for (epoch, code) in [
        (-1, error_code::NONE),
        (LEADER_EPOCH, error_code::NONE),
        (LEADER_EPOCH - 1, error_code::FENCED_LEADER_EPOCH),
        (LEADER_EPOCH + 1, error_code::UNKNOWN_LEADER_EPOCH),
    ] {
        let mut request = fetch("t", &[(0, 0)], 0);
        request.topics[0].partitions[0].current_leader_epoch = epoch;
        for version in [9, 12, 17] {
            let request = at_version(&cluster, version, request.clone());
            let response: FetchResponse =
                answered(&cluster, ApiKey::Fetch, version, &request).await;
            let data = partition(&response, 0);
            assert_eq!(data.error_code, code, "Fetch v{version} epoch {epoch}");
            assert_eq!(records(data).len(), usize::from(code == error_code::NONE));
        }
        let request = ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("t")))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_current_leader_epoch(epoch)
                .with_timestamp(-1)])]);
        for version in [4, 10] {
            let response: ListOffsetsResponse =
                answered(&cluster, ApiKey::ListOffsets, version, &request).await;
            assert_eq!(
                response.topics[0].partitions[0].error_code, code,
                "ListOffsets v{version} epoch {epoch}"
            );
        }
    }
}

#[tokio::test]
async fn offset_for_leader_epoch_answers_each_epochs_end_from_the_leader() {
    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER), Some(2)]);
    append(
        &cluster,
        "t",
        0,
        &[b"a", b"b", b"c", b"d", b"e", b"f", b"g"],
    )
    .await;
    let ask = |partition: i32, current: i32, epoch: i32| {
        OffsetForLeaderEpochRequest::default().with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("t")))
            .with_partitions(vec![OffsetForLeaderPartition::default()
                .with_partition(partition)
                .with_current_leader_epoch(current)
                .with_leader_epoch(epoch)])])
    };
    for version in 2..=4 {
        let cases = [
            // (partition, current epoch, epoch) -> (code, epoch, end offset)
            ((0, -1, 1), (error_code::NONE, 1, 5)),
            ((0, LEADER_EPOCH, 2), (error_code::NONE, 1, 5)),
            ((0, LEADER_EPOCH, 3), (error_code::NONE, 3, 7)),
            (
                (0, LEADER_EPOCH, LEADER_EPOCH),
                (error_code::NONE, LEADER_EPOCH, 7),
            ),
            ((0, -1, LEADER_EPOCH + 1), (error_code::NONE, -1, -1)),
            (
                (0, LEADER_EPOCH - 1, 1),
                (error_code::FENCED_LEADER_EPOCH, -1, -1),
            ),
            (
                (0, LEADER_EPOCH + 1, 1),
                (error_code::UNKNOWN_LEADER_EPOCH, -1, -1),
            ),
            ((1, -1, 1), (error_code::NOT_LEADER_OR_FOLLOWER, -1, -1)),
        ];
        for ((partition, current, epoch), expected) in cases {
            let response: OffsetForLeaderEpochResponse = answered(
                &cluster,
                ApiKey::OffsetForLeaderEpoch,
                version,
                &ask(partition, current, epoch),
            )
            .await;
            let p = &response.topics[0].partitions[0];
            assert_eq!(
                (p.error_code, p.leader_epoch, p.end_offset),
                expected,
                "v{version} partition {partition} current {current} epoch {epoch}"
            );
        }
    }
}
