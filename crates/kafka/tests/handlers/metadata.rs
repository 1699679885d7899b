//! Metadata: every live broker, the controller, and each topic's partitions
//! with leader, replicas and ISR; unknown topics and leaderless partitions
//! get their codes.

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use cairn_kafka::error_code;

use crate::memory_cluster::{BROKERS, FENCED_BROKER, LEADER_EPOCH, THIS_BROKER};
use crate::wire::{answered, cluster};

fn named(names: &[&str]) -> MetadataRequest {
    MetadataRequest::default().with_topics(Some(
        names
            .iter()
            .map(|n| {
                MetadataRequestTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_string(n.to_string()))))
            })
            .collect(),
    ))
}

fn ids(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().map(|&id| BrokerId(id)).collect()
}

fn topic_names(response: &MetadataResponse) -> Vec<String> {
    response
        .topics
        .iter()
        .map(|t| t.name.as_ref().unwrap().0.to_string())
        .collect()
}

#[tokio::test]
async fn metadata_lists_brokers_topics_and_leaders() {
    let cluster = cluster();
    cluster.add_topic("a", &[Some(THIS_BROKER), Some(2)]);
    cluster.add_topic("b", &[Some(3)]);
    let response: MetadataResponse = answered(
        &cluster,
        ApiKey::Metadata,
        12,
        &MetadataRequest::default().with_topics(None),
    )
    .await;

    let brokers: Vec<_> = response
        .brokers
        .iter()
        .map(|b| (b.node_id.0, b.host.to_string(), b.port, b.rack.clone()))
        .collect();
    let expected: Vec<_> = BROKERS
        .iter()
        .map(|&id| {
            let rack = Some(StrBytes::from_string(format!("rack-{id}")));
            (id, "127.0.0.1".to_string(), 9090 + id, rack)
        })
        .collect();
    assert_eq!(brokers, expected);
    assert_eq!(response.controller_id, BrokerId(THIS_BROKER));
    assert_eq!(response.cluster_id.as_deref(), Some("memory"));
    assert_eq!(topic_names(&response), vec!["a", "b"]);

    let a = &response.topics[0];
    assert_eq!(a.error_code, error_code::NONE);
    assert_eq!(a.topic_id, uuid::Uuid::from_u128(1));
    let leaders: Vec<_> = a
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.error_code, p.leader_id.0))
        .collect();
    assert_eq!(leaders, vec![(0, 0, THIS_BROKER), (1, 0, 2)]);
    for p in &a.partitions {
        assert_eq!(p.replica_nodes, ids(&BROKERS));
        assert_eq!(p.isr_nodes, ids(&BROKERS));
        // The leader's epoch (its Raft term), for KIP-320 fencing.
        assert_eq!(p.leader_epoch, LEADER_EPOCH);
    }
    assert_eq!(response.topics[1].partitions[0].leader_id, BrokerId(3));
}

#[tokio::test]
async fn every_version_asks_for_every_topic_its_own_way() {
    let cluster = cluster();
    cluster.add_topic("a", &[Some(THIS_BROKER)]);
    cluster.add_topic("b", &[Some(THIS_BROKER)]);
    for version in 0..=12 {
        // v0 has no null list: an empty one means every topic.
        let every = if version == 0 {
            MetadataRequest::default().with_topics(Some(Vec::new()))
        } else {
            MetadataRequest::default().with_topics(None)
        };
        let all: MetadataResponse = answered(&cluster, ApiKey::Metadata, version, &every).await;
        assert_eq!(topic_names(&all), vec!["a", "b"], "v{version}");
        let one: MetadataResponse =
            answered(&cluster, ApiKey::Metadata, version, &named(&["b"])).await;
        assert_eq!(topic_names(&one), vec!["b"], "v{version}");
        assert_eq!(one.brokers.len(), BROKERS.len(), "v{version}");
    }
}

#[tokio::test]
async fn an_unknown_topic_is_unknown_topic_or_partition() {
    let cluster = cluster();
    cluster.add_topic("a", &[Some(THIS_BROKER)]);
    let response: MetadataResponse =
        answered(&cluster, ApiKey::Metadata, 12, &named(&["missing", "a"])).await;
    assert_eq!(topic_names(&response), vec!["missing", "a"]);
    assert_eq!(
        response.topics[0].error_code,
        error_code::UNKNOWN_TOPIC_OR_PARTITION
    );
    assert!(response.topics[0].partitions.is_empty());
    assert_eq!(response.topics[1].error_code, error_code::NONE);
}

#[tokio::test]
async fn a_partition_without_a_leader_is_leader_not_available() {
    let cluster = cluster();
    cluster.add_topic("a", &[None]);
    let response: MetadataResponse = answered(&cluster, ApiKey::Metadata, 12, &named(&["a"])).await;
    let p = &response.topics[0].partitions[0];
    assert_eq!(p.error_code, error_code::LEADER_NOT_AVAILABLE);
    assert_eq!(p.leader_id, BrokerId(-1));
    assert!(p.isr_nodes.is_empty());
}

#[tokio::test]
async fn describe_cluster_lists_fenced_brokers_only_when_asked_and_refuses_controller_endpoints() {
    use kafka_protocol::messages::{DescribeClusterRequest, DescribeClusterResponse};
    let cluster = cluster();
    let ids = |r: &DescribeClusterResponse| -> Vec<(i32, bool)> {
        r.brokers
            .iter()
            .map(|b| (b.broker_id.0, b.is_fenced))
            .collect()
    };
    let live: Vec<(i32, bool)> = BROKERS.iter().map(|&id| (id, false)).collect();
    for version in 0..=2 {
        let plain: DescribeClusterResponse = answered(
            &cluster,
            ApiKey::DescribeCluster,
            version,
            &DescribeClusterRequest::default(),
        )
        .await;
        assert_eq!(plain.error_code, error_code::NONE, "v{version}");
        assert_eq!(ids(&plain), live, "v{version}");
        assert_eq!(plain.controller_id, BrokerId(THIS_BROKER));
    }
    let with_fenced: DescribeClusterResponse = answered(
        &cluster,
        ApiKey::DescribeCluster,
        2,
        &DescribeClusterRequest::default().with_include_fenced_brokers(true),
    )
    .await;
    let mut expected = live.clone();
    expected.push((FENCED_BROKER, true));
    assert_eq!(ids(&with_fenced), expected);
    let controllers: DescribeClusterResponse = answered(
        &cluster,
        ApiKey::DescribeCluster,
        1,
        &DescribeClusterRequest::default().with_endpoint_type(2),
    )
    .await;
    assert_eq!(
        controllers.error_code,
        error_code::UNSUPPORTED_ENDPOINT_TYPE
    );
    assert_eq!(controllers.endpoint_type, 2);
    assert!(controllers.brokers.is_empty());
}

#[tokio::test]
async fn describe_quorum_describes_the_metadata_log_only() {
    use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
    use kafka_protocol::messages::{DescribeQuorumRequest, DescribeQuorumResponse};
    let cluster = cluster();
    let ask = |topic: &'static str, partition: i32| {
        DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
            .with_topic_name(TopicName(StrBytes::from_static_str(topic)))
            .with_partitions(vec![
                PartitionData::default().with_partition_index(partition)
            ])])
    };
    for version in 0..=2 {
        let response: DescribeQuorumResponse = answered(
            &cluster,
            ApiKey::DescribeQuorum,
            version,
            &ask("__cluster_metadata", 0),
        )
        .await;
        assert_eq!(response.error_code, error_code::NONE);
        let p = &response.topics[0].partitions[0];
        assert_eq!(p.error_code, error_code::NONE);
        assert_eq!(
            (p.leader_id, p.leader_epoch, p.high_watermark),
            (BrokerId(THIS_BROKER), 4, 10)
        );
        let voters: Vec<(i32, i64)> = p
            .current_voters
            .iter()
            .map(|v| (v.replica_id.0, v.log_end_offset))
            .collect();
        assert_eq!(voters, vec![(1, 10), (2, 9), (3, -1)]);
        // v2 lists the voters' listeners.
        let nodes: Vec<i32> = response.nodes.iter().map(|n| n.node_id.0).collect();
        assert_eq!(
            nodes,
            if version >= 2 {
                BROKERS.to_vec()
            } else {
                vec![]
            }
        );
        for (topic, partition) in [("orders", 0), ("__cluster_metadata", 1)] {
            let refused: DescribeQuorumResponse = answered(
                &cluster,
                ApiKey::DescribeQuorum,
                version,
                &ask(topic, partition),
            )
            .await;
            assert_eq!(refused.error_code, error_code::UNKNOWN_TOPIC_OR_PARTITION);
        }
    }
}
