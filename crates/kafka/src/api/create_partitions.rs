//! CreatePartitions (key 37), v0-v1: grows a topic to a total partition count
//! (or only validates), placing the new partitions on the brokers the
//! request assigns them, if it does (one list per new partition; the
//! controller checks the count, the replication factor and the brokers).

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
        let assignment = topic
            .assignments
            .as_ref()
            .filter(|a| !a.is_empty())
            .map(|lists| {
                lists
                    .iter()
                    .map(|a| {
                        a.broker_ids
                            .iter()
                            .map(|b| u64::try_from(b.0))
                            .collect::<Result<Vec<u64>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| {
                        KafkaError::new(
                            error_code::INVALID_REPLICA_ASSIGNMENT,
                            format!("topic '{}': a negative broker id", topic.name.0),
                        )
                    })
            })
            .transpose();
        let result = match assignment {
            Ok(assignment) => {
                cluster
                    .create_partitions(
                        topic.name.0.as_str(),
                        topic.count,
                        assignment,
                        request.validate_only,
                    )
                    .await
            }
            Err(e) => Err(e),
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
