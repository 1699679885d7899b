//! AlterConfigs (key 33), v0-v2: each topic's overrides become exactly the
//! given set (keys left out are reset to their defaults).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, ApiKey, RequestHeader};

use super::config_resources::{alter_all, ResourceChange, OP_SET};
use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;

/// Handles AlterConfigs.
pub fn handle_alter_configs(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(ApiKey::AlterConfigs, header, body, |request| {
        alter_configs(cluster, request)
    })
}

async fn alter_configs(
    cluster: Arc<dyn KafkaCluster>,
    request: AlterConfigsRequest,
) -> AlterConfigsResponse {
    let resources = request
        .resources
        .into_iter()
        .map(|r| ResourceChange {
            resource_type: r.resource_type,
            name: r.resource_name,
            configs: r
                .configs
                .into_iter()
                .map(|c| (c.name.to_string(), OP_SET, c.value.map(|v| v.to_string())))
                .collect(),
        })
        .collect();
    let responses = alter_all(&cluster, resources, true, request.validate_only)
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
    AlterConfigsResponse::default().with_responses(responses)
}
