//! OffsetFetch (key 9), v0-v9: committed offsets, for the named partitions
//! or (topics null, v2+) every partition the group committed. A partition
//! without a commit answers offset -1; so does every partition of a group
//! that does not exist. A read of the coordinator's state.
//!
//! - v0 is v1 on the wire, request and response. Kafka read v0 from
//!   ZooKeeper (and answers UNSUPPORTED_VERSION without it); Cairn has one
//!   store, which OffsetCommit v0 writes to, and v0 reads it.
//! - v1-v7 name one group. An error of its coordinator (NOT_COORDINATOR,
//!   loading) is the top-level error from v2, each partition's in v0-v1, as
//!   Kafka does.
//! - v8+ batch groups (`groups`); each is read from its own coordinator and
//!   answered with its own error code. v9 adds the member id and epoch of
//!   KIP-848 consumer groups; for classic groups Kafka does not check them
//!   (`ClassicGroup.validateOffsetFetch` only refuses a dead group), nor does
//!   Cairn, whose groups are all classic.
//!
//! `require_stable` (v7+, KIP-447; librdkafka and the Java client set it
//! under `isolation.level=read_committed`) holds back the offsets of a
//! partition that a transaction committed and whose marker has not reached
//! the coordinator yet: such a partition answers UNSTABLE_OFFSET_COMMIT
//! (retriable) and no offset, so that a consumer taking over never resumes
//! from an offset an in-flight transaction is about to move.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{CommittedOffset, FetchedOffset};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    ApiKey, OffsetFetchRequest, OffsetFetchResponse, RequestHeader, TopicName,
};

use super::groups::wire;
use super::respond::{answer_now, Pending};
use crate::cluster::KafkaCluster;
use crate::error::KafkaError;
use crate::error_code;

/// The version v0 is on the wire.
const V0_WIRE_VERSION: i16 = 1;
/// The first version with a top-level error code.
const TOP_LEVEL_ERROR_FROM: i16 = 2;
/// The first version that batches groups.
const BATCHED_FROM: i16 = 8;

/// Partitions by topic, as the coordinator reads them, each with whether a
/// transaction holds an offset for it (answered UNSTABLE_OFFSET_COMMIT when
/// the request requires stable offsets).
type Fetched = Vec<(String, Vec<(FetchedOffset, bool)>)>;
/// Partitions by topic, as a request names them.
type Wanted = Vec<(String, Vec<i32>)>;

/// Handles OffsetFetch.
pub fn handle_offset_fetch(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let version = header.request_api_version;
    if version < V0_WIRE_VERSION {
        let as_v1 = header.clone().with_request_api_version(V0_WIRE_VERSION);
        return answer_now(ApiKey::OffsetFetch, &as_v1, body, |request| {
            one_group(&**cluster, version, request)
        });
    }
    answer_now(
        ApiKey::OffsetFetch,
        header,
        body,
        |request: OffsetFetchRequest| {
            if version >= BATCHED_FROM {
                batched(&**cluster, request)
            } else {
                one_group(&**cluster, version, request)
            }
        },
    )
}

/// The offsets of `group_id` the coordinator holds: the `wanted`
/// partitions, or every committed one with `None`.
fn read_offsets(
    cluster: &dyn KafkaCluster,
    group_id: &str,
    wanted: Option<&[(String, Vec<i32>)]>,
    require_stable: bool,
) -> Result<Fetched, KafkaError> {
    let mut fetched = Vec::new();
    cluster.read_group(group_id, &mut |coordinator| {
        fetched = coordinator
            .fetch_offsets(group_id, wanted)
            .into_iter()
            .map(|(topic, partitions)| {
                let partitions = partitions
                    .into_iter()
                    .map(|p| {
                        let unstable = require_stable
                            && coordinator.has_pending_offset(group_id, &topic, p.partition);
                        (p, unstable)
                    })
                    .collect();
                (topic, partitions)
            })
            .collect();
    })?;
    Ok(fetched)
}

/// The error code and committed fields of one partition's answer.
fn partition_answer(p: FetchedOffset, unstable: bool) -> (i16, (i64, i32, String)) {
    if unstable {
        (error_code::UNSTABLE_OFFSET_COMMIT, committed(None))
    } else {
        (error_code::NONE, committed(p.committed))
    }
}

/// v0-v7: one group.
fn one_group(
    cluster: &dyn KafkaCluster,
    version: i16,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    let wanted: Option<Wanted> = request.topics.map(|topics| {
        topics
            .into_iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes))
            .collect()
    });
    let read = read_offsets(
        cluster,
        &request.group_id,
        wanted.as_deref(),
        request.require_stable,
    );
    let (fetched, error) = match read {
        Ok(fetched) => (fetched, error_code::NONE),
        // Nothing was read: answer the named partitions with no offset.
        Err(e) => (nothing_committed(wanted.unwrap_or_default()), e.code),
    };
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
                        .map(|(p, unstable)| {
                            let partition = p.partition;
                            let (code, (offset, leader_epoch, metadata)) =
                                partition_answer(p, unstable);
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(partition)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(leader_epoch)
                                .with_metadata(Some(wire(metadata)))
                                .with_error_code(if code == error_code::NONE {
                                    partition_error
                                } else {
                                    code
                                })
                        })
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

/// v8+: each group from its own coordinator, each with its own error.
fn batched(cluster: &dyn KafkaCluster, request: OffsetFetchRequest) -> OffsetFetchResponse {
    let groups = request
        .groups
        .into_iter()
        .map(|group| {
            let wanted: Option<Wanted> = group.topics.map(|topics| {
                topics
                    .into_iter()
                    .map(|t| (t.name.0.to_string(), t.partition_indexes))
                    .collect()
            });
            let answer = OffsetFetchResponseGroup::default().with_group_id(group.group_id.clone());
            match read_offsets(
                cluster,
                &group.group_id,
                wanted.as_deref(),
                request.require_stable,
            ) {
                Ok(fetched) => answer.with_topics(group_topics(fetched)),
                // As Kafka: a group that could not be read has no topics.
                Err(e) => answer.with_error_code(e.code),
            }
        })
        .collect();
    OffsetFetchResponse::default().with_groups(groups)
}

fn group_topics(fetched: Fetched) -> Vec<OffsetFetchResponseTopics> {
    fetched
        .into_iter()
        .map(|(topic, partitions)| {
            OffsetFetchResponseTopics::default()
                .with_name(TopicName(wire(topic)))
                .with_partitions(
                    partitions
                        .into_iter()
                        .map(|(p, unstable)| {
                            let partition = p.partition;
                            let (code, (offset, leader_epoch, metadata)) =
                                partition_answer(p, unstable);
                            OffsetFetchResponsePartitions::default()
                                .with_partition_index(partition)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(leader_epoch)
                                .with_metadata(Some(wire(metadata)))
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect()
}

/// The named partitions, none with an offset.
fn nothing_committed(wanted: Wanted) -> Fetched {
    wanted
        .into_iter()
        .map(|(topic, partitions)| {
            let none = partitions
                .into_iter()
                .map(|partition| {
                    (
                        FetchedOffset {
                            partition,
                            committed: None,
                        },
                        false,
                    )
                })
                .collect();
            (topic, none)
        })
        .collect()
}

/// (offset, leader epoch, metadata) of a partition: -1, -1 and "" without a commit.
fn committed(committed: Option<CommittedOffset>) -> (i64, i32, String) {
    match committed {
        Some(c) => (c.offset, c.leader_epoch.unwrap_or(-1), c.metadata),
        None => (-1, -1, String::new()),
    }
}
