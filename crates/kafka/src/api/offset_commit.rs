//! OffsetCommit (key 8), v0-v9: a member (or, with generation -1 and no
//! member id, a consumer outside group management) commits offsets.
//! Partitions of topics the cluster does not have get
//! UNKNOWN_TOPIC_OR_PARTITION here; the rest go to the coordinator, which
//! answers per partition. `retention_time_ms` (v2-v4) is ignored, as Kafka
//! does since 2.1: retention is the broker's `offsets.retention.minutes`.
//!
//! - v0 and v1 are read by [`super::offset_commit_legacy`]. v0 names no
//!   member, so it is a commit outside group management: accepted while the
//!   group is Empty, UNKNOWN_MEMBER_ID while it has members. Kafka kept v0
//!   commits in ZooKeeper and refuses them without it (UNSUPPORTED_VERSION in
//!   KRaft mode); Cairn has one store, and v0 commits go to it, so that an
//!   old client reads back what it committed (OffsetFetch v0 reads the same
//!   store). v1's commit timestamp is ignored.
//! - v9 (KIP-848) carries a member epoch for the new consumer groups;
//!   for classic groups it is the generation, as in v8, and a commit with a
//!   generation to a group that does not exist gets GROUP_ID_NOT_FOUND
//!   instead of ILLEGAL_GENERATION (Kafka's `OffsetMetadataManager`).
//!   STALE_MEMBER_EPOCH belongs to KIP-848 groups, which Cairn does not
//!   host yet.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{Event, OffsetCommitRequest as CommitEvent, PartitionCommit, Response};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, OffsetCommitRequest, OffsetCommitResponse, RequestHeader, TopicName,
};

use super::groups::{code, owned_opt, send_group_event, unexpected, wire};
use super::offset_commit_legacy::{self as legacy, FIRST_DECODED_VERSION, RESPONSE_WIRE_VERSION};
use super::respond::{answer_later, encode_response, ready, Outcome, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// The first version that answers GROUP_ID_NOT_FOUND to a commit with a
/// generation for a group that does not exist.
const GROUP_ID_NOT_FOUND_FROM: i16 = 9;

/// Handles OffsetCommit.
pub fn handle_offset_commit(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let version = header.request_api_version;
    if version < FIRST_DECODED_VERSION {
        return handle_legacy(header, body, cluster);
    }
    let cluster = cluster.clone();
    answer_later(
        ApiKey::OffsetCommit,
        header,
        body,
        move |request: OffsetCommitRequest| offset_commit(&*cluster, version, request),
    )
}

/// v0 and v1: read here, answered in v2's form (theirs on the wire).
fn handle_legacy(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let (version, correlation_id) = (header.request_api_version, header.correlation_id);
    let request = match legacy::decode_request(body, version) {
        Ok(request) => request,
        Err(e) => {
            return ready(Outcome::Close(format!(
                "malformed OffsetCommit v{version} request: {e}"
            )))
        }
    };
    let answer = offset_commit(&**cluster, version, request);
    Box::pin(async move {
        let response = answer.await;
        encode_response(
            ApiKey::OffsetCommit,
            RESPONSE_WIRE_VERSION,
            correlation_id,
            &response,
        )
    })
}

/// Per topic, per partition: whether it went to the coordinator, and the
/// code answered; in request order.
type Answers = Vec<(String, Vec<(i32, bool, i16)>)>;

fn offset_commit(
    cluster: &dyn KafkaCluster,
    version: i16,
    request: OffsetCommitRequest,
) -> impl std::future::Future<Output = OffsetCommitResponse> + Send + 'static {
    let partition_counts: BTreeMap<String, usize> = cluster
        .metadata()
        .topics
        .into_iter()
        .map(|t| (t.name, t.partitions.len()))
        .collect();
    let exists = |topic: &str, partition: i32| {
        partition_counts
            .get(topic)
            .is_some_and(|&n| usize::try_from(partition).is_ok_and(|p| p < n))
    };
    let mut answers: Answers = Vec::with_capacity(request.topics.len());
    let mut commits = Vec::new();
    for topic in &request.topics {
        let name = topic.name.0.to_string();
        let mut known = Vec::new();
        let mut codes = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let known_here = exists(&name, p.partition_index);
            // A partition sent to the coordinator and left unanswered is a broker bug.
            let unanswered = if known_here {
                error_code::UNKNOWN_SERVER_ERROR
            } else {
                error_code::UNKNOWN_TOPIC_OR_PARTITION
            };
            codes.push((p.partition_index, known_here, unanswered));
            if known_here {
                known.push(PartitionCommit {
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: (p.committed_leader_epoch >= 0)
                        .then_some(p.committed_leader_epoch),
                    metadata: owned_opt(p.committed_metadata.as_ref()),
                });
            }
        }
        if !known.is_empty() {
            commits.push((name.clone(), known));
        }
        answers.push((name, codes));
    }
    let group_id = request.group_id.0.to_string();
    let answer = (!commits.is_empty()).then(|| {
        let event_group = group_id.clone();
        send_group_event(cluster, &group_id, move |id| {
            Event::OffsetCommit(CommitEvent {
                request: id,
                group_id: event_group,
                generation_id: request.generation_id_or_member_epoch,
                member_id: request.member_id.to_string(),
                group_instance_id: owned_opt(request.group_instance_id.as_ref()),
                topics: commits,
                group_id_not_found_supported: version >= GROUP_ID_NOT_FOUND_FROM,
            })
        })
    });
    async move {
        if let Some(answer) = answer {
            match answer.await {
                Ok(Response::OffsetCommit(results)) => {
                    for (topic, partitions) in results {
                        for (partition, error) in partitions {
                            set(&mut answers, &topic, partition, code(error.as_ref()));
                        }
                    }
                }
                Ok(other) => set_all_known(&mut answers, unexpected("OffsetCommit", &other).code),
                Err(e) => set_all_known(&mut answers, e.code),
            }
        }
        OffsetCommitResponse::default().with_topics(
            answers
                .into_iter()
                .map(|(topic, partitions)| {
                    OffsetCommitResponseTopic::default()
                        .with_name(TopicName(wire(topic)))
                        .with_partitions(
                            partitions
                                .into_iter()
                                .map(|(index, _, error_code)| {
                                    OffsetCommitResponsePartition::default()
                                        .with_partition_index(index)
                                        .with_error_code(error_code)
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
    }
}

/// Records the coordinator's answer for one partition.
fn set(answers: &mut Answers, topic: &str, partition: i32, error_code: i16) {
    let codes = answers
        .iter_mut()
        .filter(|(t, _)| t == topic)
        .flat_map(|(_, codes)| codes.iter_mut());
    for (p, known, c) in codes {
        if *known && *p == partition {
            *c = error_code;
        }
    }
}

/// Answers every partition the coordinator was asked about with `error_code`.
fn set_all_known(answers: &mut Answers, error_code: i16) {
    for (_, codes) in answers.iter_mut() {
        for (_, known, c) in codes.iter_mut() {
            if *known {
                *c = error_code;
            }
        }
    }
}
