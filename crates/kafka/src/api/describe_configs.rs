//! DescribeConfigs (key 32), v1-v4: a topic's effective configs (its
//! overrides, else the broker's defaults, else Kafka's) and this broker's
//! static configs, optionally only the keys asked for. Each carries its
//! source, its synonyms if asked (v1+), its type (v3+) and its documentation
//! if asked (v3+).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{
    ApiKey, DescribeConfigsRequest, DescribeConfigsResponse, RequestHeader,
};
use kafka_protocol::protocol::StrBytes;

use super::config_resources::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::respond::{answer_now, Pending};
use crate::cluster::{ConfigEntry, KafkaCluster};
use crate::error_code;

/// What the request asks for besides the values.
#[derive(Clone, Copy)]
struct Wanted {
    synonyms: bool,
    documentation: bool,
}

/// Handles DescribeConfigs.
pub fn handle_describe_configs(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let this_broker = cluster.broker_id();
    answer_now(
        ApiKey::DescribeConfigs,
        header,
        body,
        |request: DescribeConfigsRequest| {
            let wanted = Wanted {
                synonyms: request.include_synonyms,
                documentation: request.include_documentation,
            };
            let results = request
                .resources
                .into_iter()
                .map(|r| describe_resource(cluster.as_ref(), this_broker, r, wanted))
                .collect();
            DescribeConfigsResponse::default().with_results(results)
        },
    )
}

fn error(code: i16, message: String) -> (i16, Option<StrBytes>) {
    (code, Some(StrBytes::from_string(message)))
}

fn describe_resource(
    cluster: &dyn KafkaCluster,
    this_broker: i32,
    resource: DescribeConfigsResource,
    wanted: Wanted,
) -> DescribeConfigsResult {
    let name = resource.resource_name.as_str();
    let found = match resource.resource_type {
        RESOURCE_TOPIC => cluster.topic_configs(name).ok_or_else(|| {
            error(
                error_code::UNKNOWN_TOPIC_OR_PARTITION,
                format!("topic '{name}' does not exist"),
            )
        }),
        // An empty name is the cluster-wide default (Kafka's dynamic
        // default broker configs); Cairn's broker configs are static, so
        // its answer is this broker's.
        RESOURCE_BROKER if name.is_empty() || name.parse() == Ok(this_broker) => {
            Ok(cluster.broker_configs())
        }
        RESOURCE_BROKER => Err(error(
            error_code::INVALID_REQUEST,
            format!("broker '{name}': this is broker {this_broker}; ask the broker itself for its configs"),
        )),
        other => Err(error(
            error_code::INVALID_REQUEST,
            format!("resource type {other} is not supported (topics 2 and brokers 4 are)"),
        )),
    };
    let result = DescribeConfigsResult::default()
        .with_resource_type(resource.resource_type)
        .with_resource_name(resource.resource_name.clone());
    match found {
        Ok(configs) => result
            .with_error_code(error_code::NONE)
            .with_configs(config_results(
                configs,
                &resource.configuration_keys,
                wanted,
            )),
        Err((code, message)) => result.with_error_code(code).with_error_message(message),
    }
}

fn text(s: String) -> StrBytes {
    StrBytes::from_string(s)
}

/// The configs named in `keys` (all if `None`) as the response lists them.
fn config_results(
    configs: Vec<ConfigEntry>,
    keys: &Option<Vec<StrBytes>>,
    wanted: Wanted,
) -> Vec<DescribeConfigsResourceResult> {
    configs
        .into_iter()
        .filter(|c| {
            keys.as_ref()
                .is_none_or(|keys| keys.iter().any(|k| k.as_str() == c.name))
        })
        .map(|c| {
            let synonyms = if wanted.synonyms {
                c.synonyms
                    .into_iter()
                    .map(|s| {
                        DescribeConfigsSynonym::default()
                            .with_name(text(s.name))
                            .with_value(s.value.map(text))
                            .with_source(s.source as i8)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            DescribeConfigsResourceResult::default()
                .with_name(text(c.name))
                .with_value(c.value.map(text))
                .with_read_only(c.read_only)
                .with_config_source(c.source as i8)
                .with_is_sensitive(false)
                .with_synonyms(synonyms)
                .with_config_type(c.config_type as i8)
                .with_documentation(wanted.documentation.then(|| text(c.documentation)))
        })
        .collect()
}
