//! DescribeConfigs (key 32), v1-v2: a topic's effective configs (its
//! overrides, else the broker's defaults, else Kafka's) and this broker's
//! static configs, optionally only the keys asked for.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    ApiKey, DescribeConfigsRequest, DescribeConfigsResponse, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;

use super::config_resources::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Config source: set on the topic.
const SOURCE_TOPIC: i8 = 1;
/// Config source: the broker's static config.
const SOURCE_STATIC_BROKER: i8 = 4;
/// Config source: the default.
const SOURCE_DEFAULT: i8 = 5;

/// Handles DescribeConfigs.
pub fn handle_describe_configs(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(
        ApiKey::DescribeConfigs,
        header,
        body,
        |request: DescribeConfigsRequest| {
            let results = request
                .resources
                .into_iter()
                .map(|r| describe_resource(cluster.as_ref(), r))
                .collect();
            DescribeConfigsResponse::default().with_results(results)
        },
    )
}

fn describe_resource(
    cluster: &dyn KafkaCluster,
    resource: DescribeConfigsResource,
) -> DescribeConfigsResult {
    let result = DescribeConfigsResult::default()
        .with_resource_type(resource.resource_type)
        .with_resource_name(resource.resource_name.clone());
    let keys = &resource.configuration_keys;
    match resource.resource_type {
        RESOURCE_TOPIC => match cluster.topic_configs(resource.resource_name.as_str()) {
            Some(configs) => result
                .with_error_code(error_code::NONE)
                .with_configs(config_results(configs, keys, SOURCE_TOPIC)),
            None => result
                .with_error_code(error_code::UNKNOWN_TOPIC_OR_PARTITION)
                .with_error_message(Some(StrBytes::from_string(format!(
                    "topic '{}' does not exist",
                    resource.resource_name.as_str()
                )))),
        },
        RESOURCE_BROKER => result
            .with_error_code(error_code::NONE)
            .with_configs(config_results(
                cluster.broker_configs(),
                keys,
                SOURCE_STATIC_BROKER,
            )),
        other => result
            .with_error_code(error_code::INVALID_REQUEST)
            .with_error_message(Some(StrBytes::from_string(format!(
                "resource type {other} is not supported"
            )))),
    }
}

/// The configs named in `keys` (all if `None`), with `set_source` for the
/// ones that are not defaults.
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
