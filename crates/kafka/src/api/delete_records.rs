//! DeleteRecords (key 21), v0-v2: each partition's log start moves to the
//! offset (-1: the high watermark) on its leader; the answer is the new low
//! watermark.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{
    ApiKey, DeleteRecordsRequest, DeleteRecordsResponse, RequestHeader,
};

use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Handles DeleteRecords.
pub fn handle_delete_records(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(ApiKey::DeleteRecords, header, body, |request| {
        delete_records(cluster, request)
    })
}

async fn delete_records(
    cluster: Arc<dyn KafkaCluster>,
    request: DeleteRecordsRequest,
) -> DeleteRecordsResponse {
    let mut topics = Vec::new();
    for t in request.topics {
        let mut partitions = Vec::new();
        for p in t.partitions {
            let (low, code) = match cluster
                .delete_records(t.name.0.as_str(), p.partition_index, p.offset)
                .await
            {
                Ok(low) => (low, error_code::NONE),
                Err(e) => (-1, e.code),
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
    DeleteRecordsResponse::default().with_topics(topics)
}
