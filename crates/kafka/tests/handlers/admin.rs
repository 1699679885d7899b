//! The admin APIs the handlers refuse by themselves, and what they hand to
//! the cluster.

use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsRequest, CreateTopicsResponse, DescribeConfigsRequest,
    DescribeConfigsResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;

use cairn_kafka::error_code;

use crate::memory_cluster::CREATED_TOPIC_ID;
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

fn describe(resource_type: i8, name: &str, keys: Option<Vec<&str>>) -> DescribeConfigsResource {
    DescribeConfigsResource::default()
        .with_resource_type(resource_type)
        .with_resource_name(StrBytes::from_string(name.to_string()))
        .with_configuration_keys(keys.map(|keys| {
            keys.into_iter()
                .map(|k| StrBytes::from_string(k.to_string()))
                .collect()
        }))
}

#[tokio::test]
async fn describe_configs_reports_types_documentation_and_synonyms_when_asked() {
    let cluster = cluster();
    cluster.add_topic("t", &[Some(1)]);
    for version in 1..=4 {
        for asked in [false, true] {
            let request = DescribeConfigsRequest::default()
                .with_include_synonyms(asked)
                .with_include_documentation(asked && version >= 3)
                .with_resources(vec![
                    describe(2, "t", Some(vec!["max.message.bytes"])),
                    describe(2, "missing", None),
                    describe(4, "1", None),
                    describe(4, "", None),
                    describe(4, "2", None),
                    describe(3, "group", None),
                ]);
            let response: DescribeConfigsResponse =
                answered(&cluster, ApiKey::DescribeConfigs, version, &request).await;
            let codes: Vec<_> = response.results.iter().map(|r| r.error_code).collect();
            assert_eq!(
                codes,
                vec![
                    error_code::NONE,
                    error_code::UNKNOWN_TOPIC_OR_PARTITION,
                    error_code::NONE,
                    // The empty name is the cluster-wide default: this broker's static configs.
                    error_code::NONE,
                    // Another broker's configs are that broker's to describe.
                    error_code::INVALID_REQUEST,
                    error_code::INVALID_REQUEST,
                ],
                "v{version}"
            );
            let message = response.results[4].error_message.as_ref().unwrap();
            assert!(message.contains("broker '2'"), "{message}");
            // Only the key asked for.
            let topic = &response.results[0].configs;
            assert_eq!(topic.len(), 1, "v{version}");
            let entry = &topic[0];
            assert_eq!(entry.name.as_str(), "max.message.bytes");
            assert_eq!(entry.config_source, 5, "DEFAULT_CONFIG");
            assert!(!entry.read_only && !entry.is_sensitive);
            assert_eq!(
                entry.synonyms.len(),
                usize::from(asked),
                "v{version} {asked}"
            );
            let broker = &response.results[2].configs[0];
            assert_eq!(broker.name.as_str(), "broker.id");
            assert_eq!((broker.config_source, broker.read_only), (4, true));
            if version >= 3 {
                assert_eq!(entry.config_type, 3, "INT");
                assert_eq!(
                    entry.documentation.is_some(),
                    asked,
                    "v{version}: documentation only when asked"
                );
            }
        }
    }
}

#[tokio::test]
async fn create_topics_reports_what_it_created_from_v5_and_the_id_from_v7() {
    let cluster = cluster();
    for version in 4..=7 {
        let name = format!("made-v{version}");
        let request = CreateTopicsRequest::default().with_topics(vec![
            topic(&name).with_configs(vec![CreatableTopicConfig::default()
                .with_name(StrBytes::from_static_str("retention.ms"))
                .with_value(Some(StrBytes::from_static_str("1000")))]),
            topic(&name),
        ]);
        let response: CreateTopicsResponse =
            answered(&cluster, ApiKey::CreateTopics, version, &request).await;
        let (made, again) = (&response.topics[0], &response.topics[1]);
        assert_eq!(made.error_code, error_code::NONE, "v{version}");
        assert_eq!(
            again.error_code,
            error_code::TOPIC_ALREADY_EXISTS,
            "v{version}"
        );
        if version < 5 {
            // Not on the wire before v5: decoded as the defaults.
            assert_eq!(made.num_partitions, -1);
            assert!(made.configs.as_ref().is_none_or(Vec::is_empty));
            continue;
        }
        assert_eq!(
            (made.num_partitions, made.replication_factor),
            (3, 1),
            "v{version}"
        );
        let configs = made.configs.as_ref().unwrap();
        assert_eq!(configs.len(), 1);
        assert_eq!(configs[0].name.as_str(), "retention.ms");
        assert_eq!(configs[0].value.as_deref(), Some("1000"));
        assert_eq!(configs[0].config_source, 1, "set on the topic");
        assert_eq!(
            (again.num_partitions, again.replication_factor),
            (-1, -1),
            "a refused topic reports nothing"
        );
        let expected_id = if version >= 7 { CREATED_TOPIC_ID } else { 0 };
        assert_eq!(made.topic_id.as_u128(), expected_id, "v{version}");
    }
}

#[tokio::test]
async fn delete_topics_v6_deletes_by_name_or_id_and_refuses_an_unknown_id() {
    use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
    use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse};
    let cluster = cluster();
    cluster.add_topic("a", &[Some(1)]);
    cluster.add_topic("b", &[Some(1)]);
    // The memory cluster numbers topics 1, 2, ... in name order.
    let request = DeleteTopicsRequest::default().with_topics(vec![
        DeleteTopicState::default().with_topic_id(uuid::Uuid::from_u128(2)),
        DeleteTopicState::default().with_topic_id(uuid::Uuid::from_u128(99)),
        DeleteTopicState::default().with_name(Some(TopicName(StrBytes::from_static_str("a")))),
    ]);
    let response: DeleteTopicsResponse =
        answered(&cluster, ApiKey::DeleteTopics, 6, &request).await;
    let results: Vec<_> = response
        .responses
        .iter()
        .map(|r| {
            (
                r.name.as_ref().map(|n| n.to_string()),
                r.topic_id.as_u128(),
                r.error_code,
            )
        })
        .collect();
    assert_eq!(
        results,
        vec![
            (Some("b".to_string()), 2, error_code::NONE),
            (None, 99, error_code::UNKNOWN_TOPIC_ID),
            (Some("a".to_string()), 1, error_code::NONE),
        ]
    );
    assert!(!cluster.has_topic("a") && !cluster.has_topic("b"));
}

#[tokio::test]
async fn partition_reassignments_are_recorded_listed_and_cancelled() {
    use kafka_protocol::messages::alter_partition_reassignments_request::{
        ReassignablePartition, ReassignableTopic,
    };
    use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
    use kafka_protocol::messages::{
        AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, BrokerId,
        ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse,
    };
    let cluster = cluster();
    cluster.add_topic("t", &[Some(1), Some(1)]);
    let t = || TopicName(StrBytes::from_static_str("t"));
    let alter = |parts: Vec<(i32, Option<Vec<i32>>)>, allow: bool| {
        AlterPartitionReassignmentsRequest::default()
            .with_allow_replication_factor_change(allow)
            .with_topics(vec![ReassignableTopic::default()
                .with_name(t())
                .with_partitions(
                    parts
                        .into_iter()
                        .map(|(p, r)| {
                            ReassignablePartition::default()
                                .with_partition_index(p)
                                .with_replicas(r.map(|r| r.into_iter().map(BrokerId).collect()))
                        })
                        .collect(),
                )])
    };
    let codes = |r: &AlterPartitionReassignmentsResponse| -> Vec<(i32, i16)> {
        r.responses
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| (p.partition_index, p.error_code))
            })
            .collect()
    };
    let list = |topics| async {
        let r: ListPartitionReassignmentsResponse = answered(
            &cluster,
            ApiKey::ListPartitionReassignments,
            0,
            &ListPartitionReassignmentsRequest::default().with_topics(topics),
        )
        .await;
        assert_eq!(r.error_code, error_code::NONE);
        r.topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(|p| {
                    (
                        p.partition_index,
                        p.replicas.iter().map(|b| b.0).collect::<Vec<_>>(),
                        p.adding_replicas.iter().map(|b| b.0).collect::<Vec<_>>(),
                        p.removing_replicas.iter().map(|b| b.0).collect::<Vec<_>>(),
                    )
                })
            })
            .collect::<Vec<_>>()
    };
    assert!(list(None).await.is_empty(), "nothing moves yet");
    // v1 without allowing a factor change: a 2-replica target is refused.
    let response: AlterPartitionReassignmentsResponse = answered(
        &cluster,
        ApiKey::AlterPartitionReassignments,
        1,
        &alter(
            vec![
                (0, Some(vec![2, 3, 4])),
                (1, Some(vec![2, 3])),
                (9, Some(vec![1])),
            ],
            false,
        ),
    )
    .await;
    assert_eq!(response.error_code, error_code::NONE);
    assert_eq!(
        codes(&response),
        vec![
            (0, error_code::NONE),
            (1, error_code::INVALID_REPLICATION_FACTOR),
            (9, error_code::UNKNOWN_TOPIC_OR_PARTITION)
        ]
    );
    assert_eq!(
        list(None).await,
        vec![(0, vec![2, 3, 4, 1], vec![4], vec![1])]
    );
    let only_1 = Some(vec![ListPartitionReassignmentsTopics::default()
        .with_name(t())
        .with_partition_indexes(vec![1])]);
    assert!(list(only_1).await.is_empty(), "partition 1 is not moving");
    // v0 allows any size; null replicas cancel, twice is an error.
    let response: AlterPartitionReassignmentsResponse = answered(
        &cluster,
        ApiKey::AlterPartitionReassignments,
        0,
        // (v0 cannot carry the flag; its default is true.)
        &alter(vec![(1, Some(vec![2, 3])), (0, None)], true),
    )
    .await;
    assert_eq!(
        codes(&response),
        vec![(1, error_code::NONE), (0, error_code::NONE)]
    );
    let response: AlterPartitionReassignmentsResponse = answered(
        &cluster,
        ApiKey::AlterPartitionReassignments,
        1,
        &alter(vec![(0, None)], true),
    )
    .await;
    assert_eq!(
        codes(&response),
        vec![(0, error_code::NO_REASSIGNMENT_IN_PROGRESS)]
    );
    assert_eq!(list(None).await, vec![(1, vec![2, 3, 1], vec![], vec![1])]);
}

#[tokio::test]
async fn elect_leaders_moves_named_partitions_and_leaves_out_unneeded_ones_for_all() {
    use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
    use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse};
    let answers = |r: &ElectLeadersResponse| -> Vec<(String, i32, i16)> {
        r.replica_election_results
            .iter()
            .flat_map(|t| {
                t.partition_result
                    .iter()
                    .map(|p| (t.topic.as_str().to_string(), p.partition_id, p.error_code))
            })
            .collect()
    };
    let named = |election_type: i8| {
        ElectLeadersRequest::default()
            .with_election_type(election_type)
            .with_topic_partitions(Some(vec![TopicPartitions::default()
                .with_topic(TopicName(StrBytes::from_static_str("t")))
                // Twice the same partition: answered once.
                .with_partitions(vec![0, 1, 2, 1, 9])]))
            .with_timeout_ms(1000)
    };
    for version in 0..=2 {
        let cluster = cluster();
        // Preferred is broker 1: partition 0 has it, 1 is led by 2, 2 has no leader.
        cluster.add_topic("t", &[Some(1), Some(2), None]);
        let response: ElectLeadersResponse =
            answered(&cluster, ApiKey::ElectLeaders, version, &named(0)).await;
        assert_eq!(response.error_code, error_code::NONE);
        assert_eq!(
            answers(&response),
            vec![
                ("t".to_string(), 0, error_code::ELECTION_NOT_NEEDED),
                ("t".to_string(), 1, error_code::NONE),
                (
                    "t".to_string(),
                    2,
                    error_code::PREFERRED_LEADER_NOT_AVAILABLE
                ),
                ("t".to_string(), 9, error_code::UNKNOWN_TOPIC_OR_PARTITION),
            ],
            "v{version}"
        );
    }
    // Every partition: those needing nothing are left out.
    let cluster = cluster();
    cluster.add_topic("t", &[Some(1), Some(2), None]);
    let response: ElectLeadersResponse = answered(
        &cluster,
        ApiKey::ElectLeaders,
        2,
        &ElectLeadersRequest::default().with_topic_partitions(None),
    )
    .await;
    assert_eq!(
        answers(&response),
        vec![
            ("t".to_string(), 1, error_code::NONE),
            (
                "t".to_string(),
                2,
                error_code::PREFERRED_LEADER_NOT_AVAILABLE
            ),
        ]
    );
    // Unclean: a led partition needs none; a leaderless one cannot have one.
    let response: ElectLeadersResponse =
        answered(&cluster, ApiKey::ElectLeaders, 1, &named(1)).await;
    assert_eq!(
        answers(&response),
        vec![
            ("t".to_string(), 0, error_code::ELECTION_NOT_NEEDED),
            ("t".to_string(), 1, error_code::ELECTION_NOT_NEEDED),
            (
                "t".to_string(),
                2,
                error_code::ELIGIBLE_LEADERS_NOT_AVAILABLE
            ),
            ("t".to_string(), 9, error_code::UNKNOWN_TOPIC_OR_PARTITION),
        ]
    );
    // An election type Kafka does not have.
    let response: ElectLeadersResponse =
        answered(&cluster, ApiKey::ElectLeaders, 2, &named(7)).await;
    assert!(answers(&response)
        .iter()
        .all(|(_, _, code)| *code == error_code::INVALID_REQUEST));
}
