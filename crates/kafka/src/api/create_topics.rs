//! CreateTopics (key 19), v2-v7: each topic is created independently, with
//! configs and validate-only; a partition count and replication factor of -1
//! take the broker defaults. From v5 the answer reports what was created
//! (or would be, validating): the partition count, replication factor and
//! every config with its source; from v7 the topic id. A manual replica assignment gives each
//! partition's brokers instead (both -1 then, as Kafka requires; partition
//! indexes 0, 1, ... with no gap, broker ids not negative; the controller
//! checks the rest: one replication factor, registered brokers, no broker
//! twice in a partition).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse, RequestHeader};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_later, Pending};
use crate::cluster::{CreatedTopic, KafkaCluster, NewTopic};
use crate::error::KafkaError;
use crate::error_code;

/// Handles CreateTopics.
pub fn handle_create_topics(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    let version = header.request_api_version;
    answer_later(ApiKey::CreateTopics, header, body, move |request| {
        create_topics(cluster, version, request)
    })
}

async fn create_topics(
    cluster: Arc<dyn KafkaCluster>,
    version: i16,
    request: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut results = Vec::new();
    for topic in request.topics {
        let result = match new_topic(&topic, request.validate_only) {
            Ok(new) => cluster.create_topic(new).await,
            Err(e) => Err(e),
        };
        let answer = CreatableTopicResult::default()
            .with_name(topic.name)
            .with_error_message(None);
        results.push(match result {
            Ok(created) if version >= REPORTS_TOPIC_FROM => reported(answer, created, version),
            Ok(_) => answer.with_error_code(error_code::NONE),
            Err(e) => answer
                .with_error_code(e.code)
                .with_error_message(e.message.map(StrBytes::from_string))
                .with_num_partitions(-1)
                .with_replication_factor(-1),
        });
    }
    CreateTopicsResponse::default().with_topics(results)
}

/// The first version that reports the created topic back.
const REPORTS_TOPIC_FROM: i16 = 5;
/// The first version that reports its id.
const TOPIC_ID_FROM: i16 = 7;

fn reported(
    answer: CreatableTopicResult,
    created: CreatedTopic,
    version: i16,
) -> CreatableTopicResult {
    let configs = created
        .configs
        .into_iter()
        .map(|c| {
            CreatableTopicConfigs::default()
                .with_name(StrBytes::from_string(c.name))
                .with_value(c.value.map(StrBytes::from_string))
                .with_read_only(c.read_only)
                .with_config_source(c.source as i8)
                .with_is_sensitive(false)
        })
        .collect();
    let id = match created.id {
        Some(id) if version >= TOPIC_ID_FROM => uuid::Uuid::from_u128(id),
        _ => uuid::Uuid::nil(),
    };
    answer
        .with_error_code(error_code::NONE)
        .with_topic_id(id)
        .with_num_partitions(created.partitions)
        .with_replication_factor(created.replication_factor)
        .with_configs(Some(configs))
}

/// The cluster request for one requested topic, or why it is refused here.
fn new_topic(topic: &CreatableTopic, validate_only: bool) -> Result<NewTopic, KafkaError> {
    let mut configs = BTreeMap::new();
    let mut null_config = None;
    for c in &topic.configs {
        match &c.value {
            Some(v) => {
                configs.insert(c.name.to_string(), v.to_string());
            }
            None => null_config = Some(format!("config {} has no value", c.name)),
        }
    }
    if let Some(message) = null_config {
        return Err(KafkaError::new(error_code::INVALID_REQUEST, message));
    }
    let assignment = if topic.assignments.is_empty() {
        None
    } else {
        Some(manual_assignment(topic)?)
    };
    Ok(NewTopic {
        name: topic.name.0.to_string(),
        partitions: topic.num_partitions,
        replication_factor: topic.replication_factor,
        configs,
        validate_only,
        assignment,
    })
}

/// A topic's manual replica assignment as one broker list per partition.
fn manual_assignment(topic: &CreatableTopic) -> Result<Vec<Vec<u64>>, KafkaError> {
    let name = &topic.name.0;
    if topic.num_partitions != -1 || topic.replication_factor != -1 {
        return Err(KafkaError::new(
            error_code::INVALID_REQUEST,
            format!(
                "topic '{name}': a replica assignment and a partition count or replication factor were both given; give one"
            ),
        ));
    }
    let mut by_index: BTreeMap<i32, Vec<u64>> = BTreeMap::new();
    for a in &topic.assignments {
        let brokers = a
            .broker_ids
            .iter()
            .map(|b| u64::try_from(b.0))
            .collect::<Result<Vec<u64>, _>>()
            .map_err(|_| {
                KafkaError::new(
                    error_code::INVALID_REPLICA_ASSIGNMENT,
                    format!(
                        "topic '{name}': partition {} names a negative broker id",
                        a.partition_index
                    ),
                )
            })?;
        if by_index.insert(a.partition_index, brokers).is_some() {
            return Err(KafkaError::new(
                error_code::INVALID_REPLICA_ASSIGNMENT,
                format!(
                    "topic '{name}': partition {} is assigned twice",
                    a.partition_index
                ),
            ));
        }
    }
    if let Some((i, p)) = by_index.keys().enumerate().find(|(i, p)| **p != *i as i32) {
        return Err(KafkaError::new(
            error_code::INVALID_REPLICA_ASSIGNMENT,
            format!(
                "topic '{name}': partitions must be numbered 0, 1, ... without gaps; partition {i} is missing (found {p})"
            ),
        ));
    }
    Ok(by_index.into_values().collect())
}
