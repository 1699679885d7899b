//! The request bounds check (`cairn_kafka::guard`) accepts every request the
//! broker serves, at every supported version, as a real client encodes it:
//! a check with a wrong schema would turn valid clients away.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};

fn name(s: &'static str) -> TopicName {
    TopicName(StrBytes::from_static_str(s))
}

fn accepted<R: Encodable + Clone>(
    key: ApiKey,
    versions: std::ops::RangeInclusive<i16>,
    request: &R,
) {
    accepted_with(key, versions, |_| request.clone());
}

/// Requests are built per version where some fields exist only in later versions.
fn accepted_with<R: Encodable>(
    key: ApiKey,
    versions: std::ops::RangeInclusive<i16>,
    build: impl Fn(i16) -> R,
) {
    for v in versions {
        let request = build(v);
        let mut buf = BytesMut::new();
        request
            .encode(&mut buf, v)
            .unwrap_or_else(|e| panic!("{key:?} v{v}: {e}"));
        assert_eq!(
            cairn_kafka::guard::check(key, v, &buf),
            Ok(()),
            "{key:?} v{v} rejected"
        );
        // And every strict prefix that cuts into a length is rejected or harmless, never a panic.
        for cut in 0..buf.len() {
            let _ = cairn_kafka::guard::check(key, v, &buf[..cut]);
        }
    }
}

#[test]
fn every_supported_request_passes_the_bounds_check() {
    let batch = Bytes::from(cairn_common::batch::build(&[b"a", b"b"], 1));
    accepted(
        ApiKey::ApiVersions,
        0..=3,
        &ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("cairn-test"))
            .with_client_software_version(StrBytes::from_static_str("1.0")),
    );
    accepted(
        ApiKey::Metadata,
        0..=12,
        &MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("a"))),
            MetadataRequestTopic::default().with_name(Some(name("bb"))),
        ])),
    );
    let partitions = |n| {
        (0..n)
            .map(|i| {
                PartitionProduceData::default()
                    .with_index(i)
                    .with_records(Some(batch.clone()))
            })
            .collect()
    };
    accepted(
        ApiKey::Produce,
        3..=9,
        &ProduceRequest::default()
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(name("a"))
                    .with_partition_data(partitions(2)),
                TopicProduceData::default()
                    .with_name(name("b"))
                    .with_partition_data(partitions(1)),
            ]),
    );
    let fetch_partitions = || {
        (0..2)
            .map(|i| {
                FetchPartition::default()
                    .with_partition(i)
                    .with_fetch_offset(5)
                    .with_partition_max_bytes(1 << 20)
            })
            .collect()
    };
    accepted_with(ApiKey::Fetch, 4..=12, |v| {
        let request = FetchRequest::default()
            .with_max_wait_ms(500)
            .with_max_bytes(1 << 20)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(name("a"))
                    .with_partitions(fetch_partitions()),
                FetchTopic::default()
                    .with_topic(name("b"))
                    .with_partitions(fetch_partitions()),
            ]);
        let request = if v >= 7 {
            request.with_forgotten_topics_data(vec![ForgottenTopic::default()
                .with_topic(name("c"))
                .with_partitions(vec![1, 2])])
        } else {
            request
        };
        if v >= 11 {
            request.with_rack_id(StrBytes::from_static_str("rack-1"))
        } else {
            request
        }
    });
    accepted(
        ApiKey::ListOffsets,
        1..=7,
        &ListOffsetsRequest::default().with_topics(vec![ListOffsetsTopic::default()
            .with_name(name("a"))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(0)
                .with_timestamp(-2)])]),
    );
    accepted(
        ApiKey::CreateTopics,
        2..=4,
        &CreateTopicsRequest::default()
            .with_timeout_ms(1000)
            .with_topics(vec![CreatableTopic::default()
                .with_name(name("a"))
                .with_num_partitions(3)
                .with_replication_factor(3)
                .with_assignments(vec![CreatableReplicaAssignment::default()
                    .with_partition_index(0)
                    .with_broker_ids(vec![BrokerId(1), BrokerId(2)])])
                .with_configs(vec![
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_static_str("retention.ms"))
                        .with_value(Some(StrBytes::from_static_str("1000"))),
                    CreatableTopicConfig::default()
                        .with_name(StrBytes::from_static_str("x"))
                        .with_value(None),
                ])]),
    );
    accepted(
        ApiKey::DeleteTopics,
        1..=4,
        &DeleteTopicsRequest::default()
            .with_topic_names(vec![name("a"), name("b")])
            .with_timeout_ms(1000),
    );
    accepted(
        ApiKey::DescribeConfigs,
        1..=2,
        &DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(StrBytes::from_static_str("a"))
                .with_configuration_keys(Some(vec![StrBytes::from_static_str("retention.ms")])),
            DescribeConfigsResource::default()
                .with_resource_type(4)
                .with_resource_name(StrBytes::from_static_str("1"))
                .with_configuration_keys(None),
        ]),
    );
    accepted(
        ApiKey::CreatePartitions,
        0..=1,
        &CreatePartitionsRequest::default().with_topics(vec![CreatePartitionsTopic::default()
            .with_name(name("a"))
            .with_count(4)
            .with_assignments(Some(vec![
                CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(1)])
            ]))]),
    );
    accepted(
        ApiKey::DescribeCluster,
        0..=0,
        &DescribeClusterRequest::default(),
    );
}
