//! IncrementalAlterConfigs (key 44), v0-v1: SET and DELETE of single topic
//! config keys; other keys keep their values.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    ApiKey, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, RequestHeader,
};

use super::config_resources::{alter_all, ResourceChange};
use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;

/// Handles IncrementalAlterConfigs.
pub fn handle_incremental_alter_configs(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(ApiKey::IncrementalAlterConfigs, header, body, |request| {
        incremental_alter_configs(cluster, request)
    })
}

async fn incremental_alter_configs(
    cluster: Arc<dyn KafkaCluster>,
    request: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let resources = request
        .resources
        .into_iter()
        .map(|r| ResourceChange {
            resource_type: r.resource_type,
            name: r.resource_name,
            configs: r
                .configs
                .into_iter()
                .map(|c| {
                    let value = c.value.map(|v| v.to_string());
                    (c.name.to_string(), c.config_operation, value)
                })
                .collect(),
        })
        .collect();
    let responses = alter_all(&cluster, resources, false, request.validate_only)
        .await
        .into_iter()
        .map(|r| {
            AlterConfigsResourceResponse::default()
                .with_error_code(r.error_code)
                .with_error_message(r.error_message)
                .with_resource_type(r.resource_type)
                .with_resource_name(r.name)
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}
