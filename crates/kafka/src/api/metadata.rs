//! Metadata (key 3): every live broker, the controller, and for each requested
//! topic its partitions with leader, replicas, ISR and offline replicas.
//! Topics are asked for by name, or (v10+, as KIP-848 consumers do for the
//! topic ids of their assignments) by id.
//! A topic asked for by name that does not exist is created when the
//! request allows it (v4+'s `allow_auto_topic_creation`; always before) and
//! the broker auto-creates topics: it is answered LEADER_NOT_AVAILABLE, as
//! Kafka does, until it is there. Otherwise unknown topics get
//! UNKNOWN_TOPIC_OR_PARTITION (UNKNOWN_TOPIC_ID when asked for by id);
//! partitions without a known leader get LEADER_NOT_AVAILABLE and leader -1.
//! The leader epoch is the partition's Raft term as this broker last heard it
//! from the leader; clients use it to notice a new leader and then check
//! their position with OffsetForLeaderEpoch (KIP-320).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, MetadataRequest, MetadataResponse, RequestHeader, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_later, Pending};
use crate::cluster::{ClusterMetadata, KafkaCluster, TopicMetadata};
use crate::error_code;

fn ids(ids: &[i32]) -> Vec<BrokerId> {
    ids.iter().map(|&id| BrokerId(id)).collect()
}

fn topic_response(topic: &TopicMetadata) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .map(|p| {
            MetadataResponsePartition::default()
                .with_error_code(if p.leader.is_some() {
                    error_code::NONE
                } else {
                    error_code::LEADER_NOT_AVAILABLE
                })
                .with_partition_index(p.index)
                .with_leader_id(BrokerId(p.leader.unwrap_or(-1)))
                .with_leader_epoch(p.leader_epoch.unwrap_or(-1))
                .with_replica_nodes(ids(&p.replicas))
                .with_isr_nodes(ids(&p.isr))
                .with_offline_replicas(ids(&p.offline))
        })
        .collect();
    MetadataResponseTopic::default()
        .with_error_code(error_code::NONE)
        .with_name(Some(TopicName(StrBytes::from_string(topic.name.clone()))))
        .with_topic_id(uuid::Uuid::from_u128(topic.id))
        .with_partitions(partitions)
}

/// A topic a Metadata request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestedTopic {
    /// By name.
    Name(String),
    /// By topic id (v10+, name null).
    Id(u128),
}

/// Builds the response for the requested topics (`None` = every topic).
/// `missing` gives the error code of a topic asked for by name that does not
/// exist (after asking for its creation, see [`KafkaCluster::auto_create_topic`]).
pub fn build(
    cluster: &ClusterMetadata,
    requested: Option<Vec<RequestedTopic>>,
    mut missing: impl FnMut(&str) -> i16,
) -> MetadataResponse {
    let brokers = cluster
        .brokers
        .iter()
        .map(|b| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(b.id))
                .with_host(StrBytes::from_string(b.host.clone()))
                .with_port(b.port)
                .with_rack(b.rack.clone().map(StrBytes::from_string))
        })
        .collect();
    let topics = match requested {
        None => cluster.topics.iter().map(topic_response).collect(),
        Some(wanted) => wanted
            .into_iter()
            .map(|wanted| match wanted {
                RequestedTopic::Name(name) => {
                    match cluster.topics.iter().find(|t| t.name == name) {
                        Some(topic) => topic_response(topic),
                        None => MetadataResponseTopic::default()
                            .with_error_code(missing(&name))
                            .with_name(Some(TopicName(StrBytes::from_string(name)))),
                    }
                }
                RequestedTopic::Id(id) => match cluster.topics.iter().find(|t| t.id == id) {
                    Some(topic) => topic_response(topic),
                    None => MetadataResponseTopic::default()
                        .with_error_code(error_code::UNKNOWN_TOPIC_ID)
                        .with_name(None)
                        .with_topic_id(uuid::Uuid::from_u128(id)),
                },
            })
            .collect(),
    };
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(StrBytes::from_string(cluster.cluster_id.clone())))
        .with_controller_id(BrokerId(cluster.controller.unwrap_or(-1)))
        .with_topics(topics)
}

/// Handles Metadata v0-v12.
pub fn handle_metadata(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let version = header.request_api_version;
    let cluster = cluster.clone();
    answer_later(
        ApiKey::Metadata,
        header,
        body,
        move |request: MetadataRequest| {
            let requested = match request.topics {
                // v0 has no null: an empty list means every topic.
                Some(topics) if version == 0 && topics.is_empty() => None,
                Some(topics) => Some(
                    topics
                        .into_iter()
                        .filter_map(|t| match t.name {
                            Some(name) => Some(RequestedTopic::Name(name.0.to_string())),
                            None if !t.topic_id.is_nil() => {
                                Some(RequestedTopic::Id(t.topic_id.as_u128()))
                            }
                            None => None,
                        })
                        .collect(),
                ),
                None => None,
            };
            let auto_create = request.allow_auto_topic_creation;
            let names = requested.as_ref().map(|topics: &Vec<RequestedTopic>| {
                topics
                    .iter()
                    .filter_map(|t| match t {
                        RequestedTopic::Name(name) => Some(name.clone()),
                        RequestedTopic::Id(id) => cluster.topic_name(*id),
                    })
                    .collect()
            });
            async move {
                cluster.leaders_settled(names).await;
                build(&cluster.metadata(), requested, |name| {
                    auto_create
                        .then(|| cluster.auto_create_topic(name))
                        .flatten()
                        .unwrap_or(error_code::UNKNOWN_TOPIC_OR_PARTITION)
                })
            }
        },
    )
}
