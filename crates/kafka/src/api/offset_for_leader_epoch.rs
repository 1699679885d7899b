//! OffsetForLeaderEpoch (key 23), v2-v4 (Kafka 4.0's range; the crate has
//! no schema for v0-v1): for each partition this broker leads, the end
//! offset of a leader epoch: where the next epoch's records begin, or the
//! high watermark for the current epoch. Consumers ask after a leader
//! change, to check that their position is still on the log (KIP-320); in
//! Raft committed records are never truncated, so it always is. Leader
//! epochs are Raft terms. The `current_leader_epoch` is checked first
//! (FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH, see [`super::leader_epoch`]).
//! Requests from a replica (`replica_id` ≥ 0) are refused: Cairn's replicas
//! talk Raft.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    ApiKey, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, RequestHeader,
};

use super::leader_epoch;
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;
use crate::error::KafkaError;
use crate::error_code;

/// Handles OffsetForLeaderEpoch.
pub fn handle_offset_for_leader_epoch(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(
        ApiKey::OffsetForLeaderEpoch,
        header,
        body,
        |request: OffsetForLeaderEpochRequest| answer(cluster.as_ref(), request),
    )
}

fn answer(
    cluster: &dyn KafkaCluster,
    request: OffsetForLeaderEpochRequest,
) -> OffsetForLeaderEpochResponse {
    let from_replica = request.replica_id.0 >= 0;
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let name = t.topic.to_string();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let found = if from_replica {
                        Err(KafkaError::new(
                            error_code::INVALID_REQUEST,
                            "Cairn's replicas replicate over Raft, not Kafka fetches",
                        ))
                    } else {
                        leader_epoch::check(cluster, &name, p.partition, p.current_leader_epoch)
                            .and_then(|()| {
                                cluster.end_offset_for_epoch(&name, p.partition, p.leader_epoch)
                            })
                    };
                    let answer = EpochEndOffset::default().with_partition(p.partition);
                    match found {
                        Ok((epoch, end_offset)) => answer
                            .with_error_code(error_code::NONE)
                            .with_leader_epoch(epoch)
                            .with_end_offset(end_offset),
                        Err(e) => answer
                            .with_error_code(e.code)
                            .with_leader_epoch(-1)
                            .with_end_offset(-1),
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
