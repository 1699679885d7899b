//! Topic and cluster administration: CreateTopics (v2-v4, with configs and
//! validate-only), CreatePartitions (v0-v1), DeleteTopics (v1-v4), DescribeConfigs (v1-v2, topic and
//! broker resources with Kafka's defaults) and DescribeCluster (v0).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
    CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse, DescribeClusterRequest,
    DescribeClusterResponse, DescribeConfigsRequest, DescribeConfigsResponse, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;

use super::{decode, respond, Outcome, Pending};
use crate::cluster::{KafkaCluster, NewTopic};
use crate::error_code;

/// DescribeConfigs resource types.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
/// Config sources (DescribeConfigs v1+).
const SOURCE_TOPIC: i8 = 1;
const SOURCE_STATIC_BROKER: i8 = 4;
const SOURCE_DEFAULT: i8 = 5;
/// INVALID_REQUEST: a config with a null value.
const INVALID_REQUEST: i16 = 42;

/// The error code and message of an admin operation's result.
fn error_fields(result: Result<(), (i16, String)>) -> (i16, Option<StrBytes>) {
    match result {
        Ok(()) => (error_code::NONE, None),
        Err((code, message)) => (code, Some(StrBytes::from_string(message))),
    }
}

/// Handles CreateTopics: every topic is created independently.
pub fn create_topics(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Result<Pending, Outcome> {
    let request: CreateTopicsRequest = decode(header, body, "CreateTopics")?;
    let (version, correlation_id) = (header.request_api_version, header.correlation_id);
    let cluster = cluster.clone();
    Ok(Box::pin(async move {
        let mut results = Vec::new();
        for topic in request.topics {
            let mut configs = BTreeMap::new();
            let mut bad = None;
            for c in &topic.configs {
                match &c.value {
                    Some(v) => {
                        configs.insert(c.name.to_string(), v.to_string());
                    }
                    None => bad = Some(format!("config {} has no value", c.name)),
                }
            }
            let result = match bad {
                Some(message) => Err((INVALID_REQUEST, message)),
                None if !topic.assignments.is_empty() => Err((
                    error_code::INVALID_REPLICA_ASSIGNMENT,
                    "manual replica assignment is not supported; give a partition count and replication factor".into(),
                )),
                None => {
                    let new = NewTopic {
                        name: topic.name.0.to_string(),
                        partitions: topic.num_partitions,
                        replication_factor: topic.replication_factor,
                        configs,
                        validate_only: request.validate_only,
                    };
                    cluster.create_topic(new).await
                }
            };
            let (code, message) = error_fields(result);
            results.push(
                CreatableTopicResult::default()
                    .with_name(topic.name)
                    .with_error_code(code)
                    .with_error_message(message)
                    .with_num_partitions(topic.num_partitions)
                    .with_replication_factor(topic.replication_factor),
            );
        }
        respond(
            ApiKey::CreateTopics,
            version,
            correlation_id,
            &CreateTopicsResponse::default().with_topics(results),
        )
    }))
}

/// Handles CreatePartitions (counts only; manual assignments are refused).
pub fn create_partitions(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Result<Pending, Outcome> {
    let request: CreatePartitionsRequest = decode(header, body, "CreatePartitions")?;
    let (version, correlation_id) = (header.request_api_version, header.correlation_id);
    let cluster = cluster.clone();
    Ok(Box::pin(async move {
        let mut results = Vec::new();
        for topic in request.topics {
            let result = if topic.assignments.as_ref().is_some_and(|a| !a.is_empty()) {
                Err((
                    error_code::INVALID_REPLICA_ASSIGNMENT,
                    "manual replica assignment is not supported".to_string(),
                ))
            } else {
                cluster
                    .create_partitions(topic.name.0.as_str(), topic.count, request.validate_only)
                    .await
            };
            let (code, message) = error_fields(result);
            results.push(
                CreatePartitionsTopicResult::default()
                    .with_name(topic.name)
                    .with_error_code(code)
                    .with_error_message(message),
            );
        }
        respond(
            ApiKey::CreatePartitions,
            version,
            correlation_id,
            &CreatePartitionsResponse::default().with_results(results),
        )
    }))
}

/// Handles DeleteTopics (by name).
pub fn delete_topics(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Result<Pending, Outcome> {
    let request: DeleteTopicsRequest = decode(header, body, "DeleteTopics")?;
    let (version, correlation_id) = (header.request_api_version, header.correlation_id);
    let names: Vec<_> = request
        .topic_names
        .into_iter()
        .chain(request.topics.into_iter().filter_map(|t| t.name))
        .collect();
    let cluster = cluster.clone();
    Ok(Box::pin(async move {
        let mut responses = Vec::new();
        for name in names {
            let (code, message) = error_fields(cluster.delete_topic(name.0.as_str()).await);
            responses.push(
                DeletableTopicResult::default()
                    .with_name(Some(name))
                    .with_error_code(code)
                    .with_error_message(message),
            );
        }
        respond(
            ApiKey::DeleteTopics,
            version,
            correlation_id,
            &DeleteTopicsResponse::default().with_responses(responses),
        )
    }))
}

fn config_results(
    configs: Vec<(String, String, bool)>,
    keys: &Option<Vec<StrBytes>>,
    set_source: i8,
) -> Vec<DescribeConfigsResourceResult> {
    configs
        .into_iter()
        .filter(|(name, _, _)| {
            keys.as_ref()
                .is_none_or(|keys| keys.iter().any(|k| k.as_str() == name))
        })
        .map(|(name, value, is_default)| {
            DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_string(name))
                .with_value(Some(StrBytes::from_string(value)))
                .with_read_only(set_source == SOURCE_STATIC_BROKER)
                .with_config_source(if is_default {
                    SOURCE_DEFAULT
                } else {
                    set_source
                })
        })
        .collect()
}

/// Handles DescribeConfigs for topics and brokers.
pub fn describe_configs(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &dyn KafkaCluster,
) -> Outcome {
    let request: DescribeConfigsRequest = match decode(header, body, "DescribeConfigs") {
        Ok(r) => r,
        Err(close) => return close,
    };
    let results = request
        .resources
        .into_iter()
        .map(|r| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(r.resource_type)
                .with_resource_name(r.resource_name.clone());
            match r.resource_type {
                RESOURCE_TOPIC => match cluster.topic_configs(r.resource_name.as_str()) {
                    Some(configs) => result
                        .with_error_code(error_code::NONE)
                        .with_configs(config_results(configs, &r.configuration_keys, SOURCE_TOPIC)),
                    None => result
                        .with_error_code(error_code::UNKNOWN_TOPIC_OR_PARTITION)
                        .with_error_message(Some(StrBytes::from_string(format!(
                            "topic '{}' does not exist",
                            r.resource_name.as_str()
                        )))),
                },
                RESOURCE_BROKER => {
                    result
                        .with_error_code(error_code::NONE)
                        .with_configs(config_results(
                            cluster.broker_configs(),
                            &r.configuration_keys,
                            SOURCE_STATIC_BROKER,
                        ))
                }
                other => result
                    .with_error_code(INVALID_REQUEST)
                    .with_error_message(Some(StrBytes::from_string(format!(
                        "resource type {other} is not supported"
                    )))),
            }
        })
        .collect();
    respond(
        ApiKey::DescribeConfigs,
        header.request_api_version,
        header.correlation_id,
        &DescribeConfigsResponse::default().with_results(results),
    )
}

/// Handles DescribeCluster.
pub fn describe_cluster(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &dyn KafkaCluster,
) -> Outcome {
    if let Err(close) = decode::<DescribeClusterRequest>(header, body, "DescribeCluster") {
        return close;
    }
    let metadata = cluster.metadata();
    let brokers = metadata
        .brokers
        .iter()
        .map(|b| {
            DescribeClusterBroker::default()
                .with_broker_id(BrokerId(b.id))
                .with_host(StrBytes::from_string(b.host.clone()))
                .with_port(b.port)
                .with_rack(b.rack.clone().map(StrBytes::from_string))
        })
        .collect();
    let response = DescribeClusterResponse::default()
        .with_error_code(error_code::NONE)
        .with_cluster_id(StrBytes::from_string(metadata.cluster_id))
        .with_controller_id(BrokerId(metadata.controller.unwrap_or(-1)))
        .with_brokers(brokers);
    respond(
        ApiKey::DescribeCluster,
        header.request_api_version,
        header.correlation_id,
        &response,
    )
}
