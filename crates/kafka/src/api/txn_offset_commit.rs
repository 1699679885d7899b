//! TxnOffsetCommit (key 28), v0-v3: a transactional producer commits a
//! consumer group's offsets inside its transaction (after AddOffsetsToTxn
//! put the group's `__consumer_offsets` partition into it). It goes to the
//! group's coordinator, which checks it as an OffsetCommit (v3 carries the
//! member and generation, KIP-447, so a consumer that lost its partitions
//! cannot commit for them) and holds the offsets until the transaction's
//! marker: a commit makes them the group's, an abort drops them. Partitions
//! of topics that do not exist answer UNKNOWN_TOPIC_OR_PARTITION.

use std::sync::Arc;

use bytes::Bytes;
use cairn_coordinator::{
    Event, OffsetCommitRequest as CommitEvent, PartitionCommit, Response, TxnOffsetCommitRequest,
};
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, RequestHeader, TopicName, TxnOffsetCommitRequest as Request, TxnOffsetCommitResponse,
};

use super::groups::{code, owned_opt, send_group_event, unexpected};
use super::respond::{answer_later, Pending};
use crate::cluster::KafkaCluster;
use crate::error_code;

/// Per topic, per partition: whether it went to the coordinator, and the
/// code answered; in request order.
type Answers = Vec<(TopicName, Vec<(i32, bool, i16)>)>;

/// Handles TxnOffsetCommit.
pub fn handle_txn_offset_commit(
    header: &RequestHeader,
    body: &mut Bytes,
    cluster: &Arc<dyn KafkaCluster>,
) -> Pending {
    let cluster = cluster.clone();
    answer_later(
        ApiKey::TxnOffsetCommit,
        header,
        body,
        move |request: Request| commit(&*cluster, request),
    )
}

fn commit(
    cluster: &dyn KafkaCluster,
    request: Request,
) -> impl std::future::Future<Output = TxnOffsetCommitResponse> + Send + 'static {
    let mut answers: Answers = Vec::with_capacity(request.topics.len());
    let mut commits = Vec::new();
    for topic in &request.topics {
        let count = cluster.partition_count(&topic.name.0);
        let mut known = Vec::new();
        let mut codes = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let exists = count.is_some_and(|n| (0..n).contains(&p.partition_index));
            codes.push((
                p.partition_index,
                exists,
                if exists {
                    error_code::UNKNOWN_SERVER_ERROR
                } else {
                    error_code::UNKNOWN_TOPIC_OR_PARTITION
                },
            ));
            if exists {
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
            commits.push((topic.name.0.to_string(), known));
        }
        answers.push((topic.name.clone(), codes));
    }
    let group_id = request.group_id.0.to_string();
    let answer = (!commits.is_empty()).then(|| {
        let event_group = group_id.clone();
        send_group_event(cluster, &group_id, move |id| {
            Event::TxnOffsetCommit(TxnOffsetCommitRequest {
                commit: CommitEvent {
                    request: id,
                    group_id: event_group,
                    generation_id: request.generation_id,
                    member_id: request.member_id.to_string(),
                    group_instance_id: owned_opt(request.group_instance_id.as_ref()),
                    topics: commits,
                    group_id_not_found_supported: false,
                },
                producer_id: request.producer_id.0,
                producer_epoch: request.producer_epoch,
            })
        })
    });
    async move {
        if let Some(answer) = answer {
            let decided: Result<Vec<(String, i32, i16)>, i16> = match answer.await {
                Ok(Response::OffsetCommit(results)) => Ok(results
                    .into_iter()
                    .flat_map(|(topic, partitions)| {
                        partitions
                            .into_iter()
                            .map(move |(p, e)| (topic.clone(), p, code(e.as_ref())))
                    })
                    .collect()),
                Ok(other) => Err(unexpected("TxnOffsetCommit", &other).code),
                Err(e) => Err(e.code),
            };
            for (topic, codes) in &mut answers {
                for (partition, _, c) in codes.iter_mut().filter(|(_, sent, _)| *sent) {
                    *c = match &decided {
                        Ok(results) => results
                            .iter()
                            .find(|(t, p, _)| t.as_str() == &*topic.0 && p == partition)
                            .map_or(error_code::UNKNOWN_SERVER_ERROR, |(_, _, code)| *code),
                        Err(code) => *code,
                    };
                }
            }
        }
        TxnOffsetCommitResponse::default().with_topics(
            answers
                .into_iter()
                .map(|(name, codes)| {
                    TxnOffsetCommitResponseTopic::default()
                        .with_name(name)
                        .with_partitions(
                            codes
                                .into_iter()
                                .map(|(index, _, code)| {
                                    TxnOffsetCommitResponsePartition::default()
                                        .with_partition_index(index)
                                        .with_error_code(code)
                                })
                                .collect(),
                        )
                })
                .collect(),
        )
    }
}
