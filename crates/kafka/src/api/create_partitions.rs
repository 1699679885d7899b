//! CreatePartitions (key 37), v0-v1: grows a topic to a total partition count
//! (or only validates); manual assignments of the new partitions are refused.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{
    ApiKey, CreatePartitionsRequest, CreatePartitionsResponse, RequestHeader,
};

use super::respond::{answer_later, error_fields, Pending};
use crate::cluster::KafkaCluster;
use crate::error::KafkaError;
use crate::error_code;

/// Handles CreatePartitions.
pub fn handle_create_partitions(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(ApiKey::CreatePartitions, header, body, |request| {
        create_partitions(cluster, request)
    })
}

async fn create_partitions(
    cluster: Arc<dyn KafkaCluster>,
    request: CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    let mut results = Vec::new();
    for topic in request.topics {
        let result = if topic.assignments.as_ref().is_some_and(|a| !a.is_empty()) {
            Err(KafkaError::new(
                error_code::INVALID_REPLICA_ASSIGNMENT,
                "manual replica assignment is not supported",
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
    CreatePartitionsResponse::default().with_results(results)
}
