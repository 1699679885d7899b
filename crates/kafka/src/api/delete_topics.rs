//! DeleteTopics (key 20), v1-v6: deletes topics one at a time, by name (up
//! to v5) or by name or topic id (v6); an unknown id is UNKNOWN_TOPIC_ID.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    ApiKey, DeleteTopicsRequest, DeleteTopicsResponse, RequestHeader, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_later, error_fields, Pending};
use crate::cluster::KafkaCluster;
use crate::error::KafkaError;
use crate::error_code;

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

/// One topic to delete, as the request names it.
enum Named {
    Name(TopicName),
    Id(uuid::Uuid),
}

async fn delete_topics(
    cluster: Arc<dyn KafkaCluster>,
    request: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    // Topics are named in `topic_names` up to v5 and in `topics` from v6,
    // where a name takes precedence over an id, as in Kafka.
    let named: Vec<Named> = request
        .topic_names
        .into_iter()
        .map(Named::Name)
        .chain(request.topics.into_iter().map(|t| match t.name {
            Some(name) => Named::Name(name),
            None => Named::Id(t.topic_id),
        }))
        .collect();
    let metadata = if named.iter().any(|n| matches!(n, Named::Id(_))) {
        Some(cluster.metadata())
    } else {
        None
    };
    let mut responses = Vec::new();
    for topic in named {
        let (name, id) = match topic {
            Named::Name(name) => {
                let id = metadata
                    .as_ref()
                    .and_then(|m| m.topics.iter().find(|t| t.name == name.as_str()))
                    .map_or(uuid::Uuid::nil(), |t| uuid::Uuid::from_u128(t.id));
                (Some(name), id)
            }
            Named::Id(id) => {
                let name = metadata
                    .as_ref()
                    .and_then(|m| m.topics.iter().find(|t| t.id == id.as_u128()))
                    .map(|t| TopicName(StrBytes::from_string(t.name.clone())));
                (name, id)
            }
        };
        let result = match &name {
            Some(name) => cluster.delete_topic(name.as_str()).await,
            None => Err(KafkaError::new(
                error_code::UNKNOWN_TOPIC_ID,
                format!("no topic has id {id}"),
            )),
        };
        let (code, message) = error_fields(result);
        responses.push(
            DeletableTopicResult::default()
                .with_name(name)
                .with_topic_id(id)
                .with_error_code(code)
                .with_error_message(message),
        );
    }
    DeleteTopicsResponse::default().with_responses(responses)
}
