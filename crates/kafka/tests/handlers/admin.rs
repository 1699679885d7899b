//! The admin APIs the handlers refuse by themselves, and what they hand to
//! the cluster.

use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsRequest, CreateTopicsResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use cairn_kafka::error_code;

use crate::wire::{answered, cluster};

fn topic(name: &str) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(TopicName(StrBytes::from_string(name.to_string())))
        .with_num_partitions(3)
        .with_replication_factor(1)
}

#[tokio::test]
async fn create_topics_answers_each_topic_on_its_own() {
    let cluster = cluster();
    let request = CreateTopicsRequest::default().with_topics(vec![
        topic("created"),
        topic("assigned").with_assignments(vec![CreatableReplicaAssignment::default()
            .with_partition_index(0)
            .with_broker_ids(vec![BrokerId(1)])]),
        topic("manual")
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(vec![
                CreatableReplicaAssignment::default()
                    .with_partition_index(1)
                    .with_broker_ids(vec![BrokerId(1)]),
                CreatableReplicaAssignment::default()
                    .with_partition_index(0)
                    .with_broker_ids(vec![BrokerId(1)]),
            ]),
        topic("gappy")
            .with_num_partitions(-1)
            .with_replication_factor(-1)
            .with_assignments(vec![CreatableReplicaAssignment::default()
                .with_partition_index(1)
                .with_broker_ids(vec![BrokerId(1)])]),
        topic("null-config").with_configs(vec![CreatableTopicConfig::default()
            .with_name(StrBytes::from_static_str("retention.ms"))
            .with_value(None)]),
    ]);
    let response: CreateTopicsResponse =
        answered(&cluster, ApiKey::CreateTopics, 4, &request).await;
    let codes: Vec<_> = response
        .topics
        .iter()
        .map(|t| (t.name.0.to_string(), t.error_code))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("created".to_string(), error_code::NONE),
            // An assignment and a count at once: Kafka's INVALID_REQUEST.
            ("assigned".to_string(), error_code::INVALID_REQUEST),
            ("manual".to_string(), error_code::NONE),
            ("gappy".to_string(), error_code::INVALID_REPLICA_ASSIGNMENT),
            ("null-config".to_string(), error_code::INVALID_REQUEST),
        ]
    );
    assert_eq!(response.topics[0].error_message, None);
    let message = response.topics[4].error_message.as_ref().unwrap();
    assert!(message.contains("retention.ms"), "{message}");
    let message = response.topics[3].error_message.as_ref().unwrap();
    assert!(message.contains("partition 0 is missing"), "{message}");
    assert!(cluster.has_topic("created") && cluster.has_topic("manual"));
    assert_eq!(cluster.partition_count("manual"), Some(2));
    assert!(
        !cluster.has_topic("assigned")
            && !cluster.has_topic("gappy")
            && !cluster.has_topic("null-config")
    );

    // The cluster's own refusal comes back with its message.
    let again: CreateTopicsResponse = answered(
        &cluster,
        ApiKey::CreateTopics,
        4,
        &CreateTopicsRequest::default().with_topics(vec![topic("created")]),
    )
    .await;
    assert_eq!(again.topics[0].error_code, error_code::TOPIC_ALREADY_EXISTS);
    assert_eq!(
        again.topics[0].error_message.as_deref(),
        Some("topic 'created' already exists")
    );
}

#[tokio::test]
async fn incremental_alter_configs_hands_sets_and_deletes_to_the_cluster() {
    let cluster = cluster();
    let config = |name: &'static str, op: i8, value: Option<&'static str>| {
        AlterableConfig::default()
            .with_name(StrBytes::from_static_str(name))
            .with_config_operation(op)
            .with_value(value.map(StrBytes::from_static_str))
    };
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_static_str("t"))
            .with_configs(vec![
                config("retention.ms", 0, Some("1000")),
                config("retention.bytes", 1, None),
            ]),
        AlterConfigsResource::default()
            .with_resource_type(4)
            .with_resource_name(StrBytes::from_static_str("1"))
            .with_configs(vec![config("log.retention.ms", 0, Some("1"))]),
    ]);
    let response: IncrementalAlterConfigsResponse =
        answered(&cluster, ApiKey::IncrementalAlterConfigs, 1, &request).await;
    let codes: Vec<_> = response
        .responses
        .iter()
        .map(|r| (r.resource_type, r.error_code))
        .collect();
    assert_eq!(
        codes,
        vec![(2, error_code::NONE), (4, error_code::INVALID_REQUEST)]
    );

    let altered = cluster.altered.lock().unwrap();
    assert_eq!(
        altered.len(),
        1,
        "the broker resource must not reach the cluster"
    );
    let (name, change) = &altered[0];
    assert_eq!(name, "t");
    assert_eq!(change.set["retention.ms"], "1000");
    assert_eq!(change.delete, vec!["retention.bytes".to_string()]);
    assert!(!change.replace);
}
