//! OffsetFetch (key 9), v1-v7: the committed offsets of one group, for the
//! named partitions or (topics null, v2+) every partition it committed. A
//! partition without a commit answers offset -1. A read of the coordinator's
//! state; an error of the coordinator (NOT_COORDINATOR, loading) is the
//! top-level error from v2 and each partition's error in v1, as Kafka does.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::FetchedOffset;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, OffsetFetchRequest, OffsetFetchResponse, RequestHeader, TopicName,
};

use super::groups::wire;
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// The first version with a top-level error code.
const TOP_LEVEL_ERROR_FROM: i16 = 2;

/// Handles OffsetFetch.
pub fn handle_offset_fetch(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let version = header.request_api_version;
    answer_now(
        ApiKey::OffsetFetch,
        header,
        body,
        |request: OffsetFetchRequest| offset_fetch(&**cluster, version, request),
    )
}

fn offset_fetch(
    cluster: &dyn KafkaCluster,
    version: i16,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let wanted: Option<Vec<(String, Vec<i32>)>> = request.topics.map(|topics| {
        topics
            .into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect()
    });
    let mut fetched = Vec::new();
    let read = cluster.read_group(&request.group_id, &mut |coordinator| {
        fetched = coordinator.fetch_offsets(&request.group_id, wanted.as_deref());
    });
    let error = match read {
        Ok(()) => error_code::NONE,
        Err(e) => e.code,
    };
    if error != error_code::NONE {
        // Nothing was read: answer the named partitions with no offset.
        fetched = wanted
            .unwrap_or_default()
            .into_iter()
            .map(|(topic, partitions)| {
                let none = partitions
                    .into_iter()
                    .map(|partition| FetchedOffset {
                        partition,
                        committed: None,
                    })
                    .collect();
                (topic, none)
            })
            .collect();
    }
    let partition_error = if version < TOP_LEVEL_ERROR_FROM {
        error
    } else {
        error_code::NONE
    };
    let topics = fetched
        .into_iter()
        .map(|(topic, partitions)| {
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(wire(topic)))
                .with_partitions(
                    partitions
                        .into_iter()
                        .map(|p| partition(p, partition_error))
                        .collect(),
                )
        })
        .collect();
    let response = OffsetFetchResponse::default().with_topics(topics);
    if version >= TOP_LEVEL_ERROR_FROM {
        response.with_error_code(error)
    } else {
        response
    }
}

fn partition(fetched: FetchedOffset, error_code: i16) -> OffsetFetchResponsePartition {
    let entry = OffsetFetchResponsePartition::default()
        .with_partition_index(fetched.partition)
        .with_error_code(error_code);
    match fetched.committed {
        Some(c) => entry
            .with_committed_offset(c.offset)
            .with_committed_leader_epoch(c.leader_epoch.unwrap_or(-1))
            .with_metadata(Some(wire(c.metadata))),
        None => entry
            .with_committed_offset(-1)
            .with_committed_leader_epoch(-1)
            .with_metadata(Some(wire(""))),
    }
}
