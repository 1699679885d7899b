//! Produce: appends and answers the base offset; every refusal has its code.

use bytes::Bytes;
use cairn_common::batch;
use cairn_kafka::error_code;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::memory_cluster::THIS_BROKER;
use crate::wire::{answered, call, cluster};

fn batch_of(values: &[&[u8]]) -> Bytes {
    Bytes::from(batch::build(values, 1_000))
}

/// A request writing `records` to each listed partition of `topic`.
fn produce(acks: i16, topic: &str, partitions: Vec<(i32, Bytes)>) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partition_data(
                partitions
                    .into_iter()
                    .map(|(index, records)| {
                        PartitionProduceData::default()
                            .with_index(index)
                            .with_records(Some(records))
                    })
                    .collect(),
            )])
}

fn only_partition(response: &ProduceResponse) -> &PartitionProduceResponse {
    assert_eq!(response.responses.len(), 1);
    assert_eq!(response.responses[0].partition_responses.len(), 1);
    &response.responses[0].partition_responses[0]
}

#[tokio::test]
async fn produce_appends_and_answers_the_base_offset_at_every_version() {
    for version in 3..=9 {
        let cluster = cluster();
        cluster.add_topic("t", &[Some(THIS_BROKER)]);
        let first: ProduceResponse = answered(
            &cluster,
            ApiKey::Produce,
            version,
            &produce(-1, "t", vec![(0, batch_of(&[b"a", b"b"]))]),
        )
        .await;
        let second: ProduceResponse = answered(
            &cluster,
            ApiKey::Produce,
            version,
            &produce(1, "t", vec![(0, batch_of(&[b"c"]))]),
        )
        .await;
        let (first, second) = (only_partition(&first), only_partition(&second));
        assert_eq!(first.error_code, error_code::NONE, "v{version}");
        assert_eq!(first.base_offset, 0, "v{version}");
        assert_eq!(second.error_code, error_code::NONE, "v{version}");
        assert_eq!(second.base_offset, 2, "v{version}");
        assert_eq!(cluster.partition("t", 0, |p| p.log_end), 3, "v{version}");
    }
}

#[tokio::test]
async fn produce_to_an_unknown_topic_is_unknown_topic_or_partition() {
    let cluster = cluster();
    let response: ProduceResponse = answered(
        &cluster,
        ApiKey::Produce,
        9,
        &produce(-1, "missing", vec![(0, batch_of(&[b"a"]))]),
    )
    .await;
    let partition = only_partition(&response);
    assert_eq!(partition.error_code, error_code::UNKNOWN_TOPIC_OR_PARTITION);
    assert_eq!(partition.base_offset, -1);
}

#[tokio::test]
async fn produce_to_a_partition_led_elsewhere_is_not_leader_or_follower() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(2)]);
    let response: ProduceResponse = answered(
        &cluster,
        ApiKey::Produce,
        9,
        &produce(-1, "t", vec![(0, batch_of(&[b"a"]))]),
    )
    .await;
    let partition = only_partition(&response);
    assert_eq!(partition.error_code, error_code::NOT_LEADER_OR_FOLLOWER);
    assert_eq!(partition.base_offset, -1);
    assert_eq!(cluster.partition("t", 0, |p| p.log_end), 0);
    assert!(response.node_endpoints.is_empty());
    // From v10 the answer names the leader and how to reach it (KIP-951).
    let response: ProduceResponse = answered(
        &cluster,
        ApiKey::Produce,
        10,
        &produce(-1, "t", vec![(0, batch_of(&[b"a"]))]),
    )
    .await;
    let partition = only_partition(&response);
    assert_eq!(partition.error_code, error_code::NOT_LEADER_OR_FOLLOWER);
    assert_eq!(
        (
            partition.current_leader.leader_id.0,
            partition.current_leader.leader_epoch
        ),
        (2, 4)
    );
    let endpoints: Vec<(i32, i32)> = response
        .node_endpoints
        .iter()
        .map(|e| (e.node_id.0, e.port))
        .collect();
    assert_eq!(endpoints, vec![(2, 9092)]);
}

#[tokio::test]
async fn acks_zero_gets_no_response_but_the_write_happens() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER)]);
    let response: Option<ProduceResponse> = call(
        &cluster,
        ApiKey::Produce,
        9,
        &produce(0, "t", vec![(0, batch_of(&[b"a", b"b"]))]),
    )
    .await;
    assert!(response.is_none(), "acks=0 was answered: {response:?}");
    assert_eq!(cluster.partition("t", 0, |p| p.log_end), 2);
}

#[tokio::test]
async fn acks_outside_minus_one_to_one_is_invalid_required_acks() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER)]);
    let response: ProduceResponse = answered(
        &cluster,
        ApiKey::Produce,
        9,
        &produce(2, "t", vec![(0, batch_of(&[b"a"]))]),
    )
    .await;
    assert_eq!(
        only_partition(&response).error_code,
        error_code::INVALID_REQUIRED_ACKS
    );
    assert_eq!(cluster.partition("t", 0, |p| p.log_end), 0);
}

#[tokio::test]
async fn a_batch_with_a_bad_crc_is_corrupt_message_and_fails_only_its_partition() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER), Some(THIS_BROKER)]);
    let mut corrupt = batch::build(&[b"hello"], 1_000);
    *corrupt.last_mut().unwrap() ^= 1;
    let response: ProduceResponse = answered(
        &cluster,
        ApiKey::Produce,
        9,
        &produce(
            -1,
            "t",
            vec![(0, Bytes::from(corrupt)), (1, batch_of(&[b"fine"]))],
        ),
    )
    .await;
    let partitions = &response.responses[0].partition_responses;
    assert_eq!(partitions[0].index, 0);
    assert_eq!(partitions[0].error_code, error_code::CORRUPT_MESSAGE);
    let message = partitions[0].error_message.as_ref().unwrap().to_string();
    assert!(
        message.contains("partition 0") && message.contains("CRC"),
        "{message}"
    );
    assert_eq!(partitions[1].index, 1);
    assert_eq!(partitions[1].error_code, error_code::NONE);
    assert_eq!(cluster.partition("t", 0, |p| p.log_end), 0);
    assert_eq!(cluster.partition("t", 1, |p| p.log_end), 1);
}

#[tokio::test]
async fn a_batch_over_max_message_bytes_is_message_too_large() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(THIS_BROKER)]);
    let big = vec![7u8; crate::memory_cluster::MAX_MESSAGE_BYTES];
    let response: ProduceResponse = answered(
        &cluster,
        ApiKey::Produce,
        9,
        &produce(-1, "t", vec![(0, batch_of(&[&big]))]),
    )
    .await;
    assert_eq!(
        only_partition(&response).error_code,
        error_code::MESSAGE_TOO_LARGE
    );
    assert_eq!(cluster.partition("t", 0, |p| p.log_end), 0);
}
