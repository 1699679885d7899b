//! AlterPartitionReassignments (key 45), v0-v1: start, redirect or cancel
//! replica moves. Each partition's target (its replicas, the first the
//! preferred leader) is recorded by the controller and carried out as Raft
//! membership changes: the new replicas catch up as learners, then the
//! voters switch by joint consensus and the removed replicas delete their
//! copy. Null replicas cancel a move (the partition moves back). The answer
//! comes once the moves are recorded, not done; ListPartitionReassignments
//! shows them until they are.
//!
//! Errors per partition: UNKNOWN_TOPIC_OR_PARTITION, INVALID_REPLICA_ASSIGNMENT
//! (empty, a broker twice, a negative id), LOG_DIR_NOT_FOUND for an
//! unregistered broker (as CreateTopics answers), NO_REASSIGNMENT_IN_PROGRESS
//! for a cancel of a partition that is not moving, and from v1, without
//! `allow_replication_factor_change`, INVALID_REPLICATION_FACTOR for a target
//! of another size (KIP-860).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, ApiKey, RequestHeader,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Handles AlterPartitionReassignments.
pub fn handle_alter_partition_reassignments(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    let version = header.request_api_version;
    answer_later(
        ApiKey::AlterPartitionReassignments,
        header,
        body,
        move |request| alter(cluster, version, request),
    )
}

async fn alter(
    cluster: Arc<dyn KafkaCluster>,
    version: i16,
    request: AlterPartitionReassignmentsRequest,
) -> AlterPartitionReassignmentsResponse {
    let moves: Vec<(String, i32, Option<Vec<i32>>)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    t.name.as_str().to_string(),
                    p.partition_index,
                    p.replicas.as_ref().map(|r| r.iter().map(|b| b.0).collect()),
                )
            })
        })
        .collect();
    // v0 has no flag: any size goes, as Kafka before KIP-860.
    let allow = version == 0 || request.allow_replication_factor_change;
    let outcomes = cluster.alter_partition_reassignments(moves, allow).await;
    let mut responses: Vec<ReassignableTopicResponse> = Vec::new();
    for (topic, partition, result) in outcomes {
        let (code, message) = match result {
            Ok(()) => (error_code::NONE, None),
            Err(e) => (e.code, e.message),
        };
        let answer = ReassignablePartitionResponse::default()
            .with_partition_index(partition)
            .with_error_code(code)
            .with_error_message(message.map(StrBytes::from_string));
        match responses.iter_mut().find(|t| t.name.as_str() == topic) {
            Some(t) => t.partitions.push(answer),
            None => responses.push(
                ReassignableTopicResponse::default()
                    .with_name(TopicName(StrBytes::from_string(topic)))
                    .with_partitions(vec![answer]),
            ),
        }
    }
    AlterPartitionReassignmentsResponse::default()
        .with_allow_replication_factor_change(allow)
        .with_error_code(error_code::NONE)
        .with_responses(responses)
}
