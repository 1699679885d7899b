//! OffsetCommit (key 8), v2-v8: a member (or, with generation -1 and no
//! member id, a consumer outside group management) commits offsets.
//! Partitions of topics the cluster does not have get
//! UNKNOWN_TOPIC_OR_PARTITION here; the rest go to the coordinator, which
//! answers per partition. `retention_time_ms` (v2-v4) is ignored, as Kafka
//! does since 2.1: retention is the broker's `offsets.retention.minutes`.

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
use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Handles OffsetCommit.
pub fn handle_offset_commit(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(
        ApiKey::OffsetCommit,
        header,
        body,
        move |request: OffsetCommitRequest| offset_commit(&*cluster, request),
    )
}

/// Per topic, per partition: whether it went to the coordinator, and the
/// code answered; in request order.
type Answers = Vec<(String, Vec<(i32, bool, i16)>)>;

fn offset_commit(
    cluster: &dyn KafkaCluster,
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
                group_id_not_found_supported: false,
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
