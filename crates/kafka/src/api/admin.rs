//! Topic and cluster administration: CreateTopics (v2-v4, with configs and
//! validate-only), CreatePartitions (v0-v1), DeleteTopics (v1-v4), DescribeConfigs (v1-v2, topic and
//! broker resources with Kafka's defaults), AlterConfigs (v0-v2) and
//! IncrementalAlterConfigs (v0-v1) of topics, DeleteRecords (v0-v2) and
//! DescribeCluster (v0).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    alter_configs_response, incremental_alter_configs_response, AlterConfigsRequest,
    AlterConfigsResponse, DeleteRecordsRequest, DeleteRecordsResponse,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreatePartitionsRequest, CreatePartitionsResponse, CreateTopicsRequest,
    CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse, DescribeClusterRequest,
    DescribeClusterResponse, DescribeConfigsRequest, DescribeConfigsResponse, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;

use super::{decode, respond, Outcome, Pending};
use crate::cluster::{AlterConfigs, KafkaCluster, NewTopic};
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

/// One resource of an AlterConfigs / IncrementalAlterConfigs request, as the
/// change to make or the error to answer with.
fn config_change(
    resource_type: i8,
    name: &str,
    configs: impl Iterator<Item = (String, i8, Option<String>)>,
    replace: bool,
    validate_only: bool,
) -> Result<AlterConfigs, (i16, String)> {
    match resource_type {
        RESOURCE_TOPIC => {}
        RESOURCE_BROKER => {
            return Err((
                INVALID_REQUEST,
                format!("broker {name}: broker configs are static; set them in the broker's config file, flags or environment"),
            ))
        }
        other => {
            return Err((
                INVALID_REQUEST,
                format!("resource type {other} cannot be altered (only topics, type 2)"),
            ))
        }
    }
    let mut change = AlterConfigs {
        replace,
        validate_only,
        ..AlterConfigs::default()
    };
    for (key, op, value) in configs {
        match (op, value) {
            (OP_SET, Some(value)) => {
                change.set.insert(key, value);
            }
            (OP_SET, None) if replace => {}
            (OP_SET, None) => {
                return Err((INVALID_REQUEST, format!("config '{key}' has a null value")))
            }
            (OP_DELETE, _) => change.delete.push(key),
            (op, _) => {
                return Err((
                    INVALID_REQUEST,
                    format!("config '{key}': operation {op} is not supported (SET 0 and DELETE 1 are; list configs have no APPEND/SUBTRACT)"),
                ))
            }
        }
    }
    Ok(change)
}

/// IncrementalAlterConfigs operations.
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;

/// One resource of an alter request: type, name and (key, operation, value).
type ResourceChange = (i8, StrBytes, Vec<(String, i8, Option<String>)>);

/// Applies each resource's change in order; returns (error code, message,
/// resource type, resource name) per resource.
async fn alter_all(
    cluster: &Arc<dyn KafkaCluster>,
    resources: Vec<ResourceChange>,
    replace: bool,
    validate_only: bool,
) -> Vec<(i16, Option<StrBytes>, i8, StrBytes)> {
    let mut out = Vec::new();
    for (resource_type, name, configs) in resources {
        let change = config_change(
            resource_type,
            name.as_str(),
            configs.into_iter(),
            replace,
            validate_only,
        );
        let result = match change {
            Ok(change) => cluster.alter_topic_configs(name.as_str(), change).await,
            Err(e) => Err(e),
        };
        let (code, message) = error_fields(result);
        out.push((code, message, resource_type, name));
    }
    out
}

/// Handles AlterConfigs: each topic's overrides become exactly the given set.
pub fn alter_configs(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Result<Pending, Outcome> {
    let request: AlterConfigsRequest = decode(header, body, "AlterConfigs")?;
    let (version, correlation_id) = (header.request_api_version, header.correlation_id);
    let resources: Vec<ResourceChange> = request
        .resources
        .into_iter()
        .map(|r| {
            let configs = r
                .configs
                .into_iter()
                .map(|c| (c.name.to_string(), OP_SET, c.value.map(|v| v.to_string())))
                .collect();
            (r.resource_type, r.resource_name, configs)
        })
        .collect();
    let cluster = cluster.clone();
    Ok(Box::pin(async move {
        let responses = alter_all(&cluster, resources, true, request.validate_only)
            .await
            .into_iter()
            .map(|(code, message, resource_type, name)| {
                alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(message)
                    .with_resource_type(resource_type)
                    .with_resource_name(name)
            })
            .collect();
        respond(
            ApiKey::AlterConfigs,
            version,
            correlation_id,
            &AlterConfigsResponse::default().with_responses(responses),
        )
    }))
}

/// Handles IncrementalAlterConfigs: SET and DELETE of single keys.
pub fn incremental_alter_configs(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Result<Pending, Outcome> {
    let request: IncrementalAlterConfigsRequest = decode(header, body, "IncrementalAlterConfigs")?;
    let (version, correlation_id) = (header.request_api_version, header.correlation_id);
    let resources: Vec<ResourceChange> = request
        .resources
        .into_iter()
        .map(|r| {
            let configs = r
                .configs
                .into_iter()
                .map(|c| {
                    let value = c.value.map(|v| v.to_string());
                    (c.name.to_string(), c.config_operation, value)
                })
                .collect();
            (r.resource_type, r.resource_name, configs)
        })
        .collect();
    let cluster = cluster.clone();
    Ok(Box::pin(async move {
        let responses = alter_all(&cluster, resources, false, request.validate_only)
            .await
            .into_iter()
            .map(|(code, message, resource_type, name)| {
                incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(message)
                    .with_resource_type(resource_type)
                    .with_resource_name(name)
            })
            .collect();
        respond(
            ApiKey::IncrementalAlterConfigs,
            version,
            correlation_id,
            &IncrementalAlterConfigsResponse::default().with_responses(responses),
        )
    }))
}

/// Handles DeleteRecords: each partition's log start moves to the offset
/// (-1: the high watermark) on its leader; the answer is the new low watermark.
pub fn delete_records(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Result<Pending, Outcome> {
    let request: DeleteRecordsRequest = decode(header, body, "DeleteRecords")?;
    let (version, correlation_id) = (header.request_api_version, header.correlation_id);
    let cluster = cluster.clone();
    Ok(Box::pin(async move {
        let mut topics = Vec::new();
        for t in request.topics {
            let mut partitions = Vec::new();
            for p in t.partitions {
                let (low, code) = match cluster
                    .delete_records(t.name.0.as_str(), p.partition_index, p.offset)
                    .await
                {
                    Ok(low) => (low, error_code::NONE),
                    Err(code) => (-1, code),
                };
                partitions.push(
                    DeleteRecordsPartitionResult::default()
                        .with_partition_index(p.partition_index)
                        .with_low_watermark(low)
                        .with_error_code(code),
                );
            }
            topics.push(
                DeleteRecordsTopicResult::default()
                    .with_name(t.name)
                    .with_partitions(partitions),
            );
        }
        respond(
            ApiKey::DeleteRecords,
            version,
            correlation_id,
            &DeleteRecordsResponse::default().with_topics(topics),
        )
    }))
}
