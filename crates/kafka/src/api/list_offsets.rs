//! ListOffsets (key 2), v1-v10: earliest (-2) is the log start offset, latest
//! (-1) the high watermark (the last stable offset for a `read_committed`
//! consumer, v2+), any other timestamp the first offset at or after it
//! (-1 if none). Only the partition leader answers. v8's earliest-local (-4)
//! is the earliest offset, and v9's latest-tiered (-5) has no offset (-1),
//! as Kafka answers for a topic without tiered storage; Cairn has none. v10
//! adds a timeout for offsets in remote storage, which Cairn never waits on.
//! From v4 a partition's `current_leader_epoch` is checked (KIP-320).

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ApiKey, ListOffsetsRequest, ListOffsetsResponse, RequestHeader};

use super::leader_epoch;
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// The earliest offset.
const EARLIEST: i64 = -2;
/// The earliest offset in local storage (v8+): the earliest, without tiers.
const EARLIEST_LOCAL: i64 = -4;
/// The latest offset in tiered storage (v9+): none, without tiers.
const LATEST_TIERED: i64 = -5;

/// Handles ListOffsets.
pub fn handle_list_offsets(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    answer_now(ApiKey::ListOffsets, header, body, |request| {
        list_offsets(cluster.as_ref(), request)
    })
}

fn list_offsets(cluster: &dyn KafkaCluster, request: ListOffsetsRequest) -> ListOffsetsResponse {
    // read_committed: the latest offset is the last stable offset.
    let committed = request.isolation_level == 1;
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let name = t.name.0.to_string();
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let r = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_leader_epoch(-1);
                    let timestamp = match p.timestamp {
                        EARLIEST_LOCAL => EARLIEST,
                        other => other,
                    };
                    let found = if let Err(e) = leader_epoch::check(
                        cluster,
                        &name,
                        p.partition_index,
                        p.current_leader_epoch,
                    ) {
                        Err(e)
                    } else if timestamp == LATEST_TIERED {
                        // Only a leader answers, even when there is nothing to find.
                        cluster
                            .list_offset(&name, p.partition_index, EARLIEST)
                            .map(|_| (-1, -1))
                    } else {
                        cluster.list_offset_isolated(&name, p.partition_index, timestamp, committed)
                    };
                    match found {
                        Ok((timestamp, offset)) => r
                            .with_error_code(error_code::NONE)
                            .with_timestamp(timestamp)
                            .with_offset(offset),
                        Err(e) => r.with_error_code(e.code).with_timestamp(-1).with_offset(-1),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(t.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
