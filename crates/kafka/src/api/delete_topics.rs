//! DeleteTopics (key 20), v1-v4: deletes topics by name, one at a time.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{ApiKey, DeleteTopicsRequest, DeleteTopicsResponse, RequestHeader};

use super::respond::{answer_later, error_fields, Pending};
use crate::cluster::KafkaCluster;

/// Handles DeleteTopics.
pub fn handle_delete_topics(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(ApiKey::DeleteTopics, header, body, |request| {
        delete_topics(cluster, request)
    })
}

async fn delete_topics(
    cluster: Arc<dyn KafkaCluster>,
    request: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    // Topics are named in `topic_names` up to v5 and in `topics` from v6.
    let names = request
        .topic_names
        .into_iter()
        .chain(request.topics.into_iter().filter_map(|t| t.name));
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
    DeleteTopicsResponse::default().with_responses(responses)
}
